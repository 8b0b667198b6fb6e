import CZlib
import Foundation

/// One-shot gzip compression with zlib's `deflate`, for `_bulk` request bodies
/// sent with `Content-Encoding: gzip` (a few megabytes each). A fresh stream
/// per body keeps every request independent of the others.
public enum GzipEncoder {
    /// `bytes` as one gzip member at `level` (1 fastest ... 9 smallest).
    public static func compress(_ bytes: UnsafeRawBufferPointer, level: Int32 = 1) throws -> Data {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            deflateEnd(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        // 15 + 16: a gzip header and trailer around the deflate stream.
        let status = cloudspool_deflateInit2(stream, level, 15 + 16)
        guard status == Z_OK else {
            throw CloudspoolError(.decompression, "zlib could not start deflating", underlying: "zlib code \(status)")
        }
        let bound = Int(deflateBound(stream, uLong(bytes.count)))
        var output = Data(count: bound)
        let written: Int = try output.withUnsafeMutableBytes { out -> Int in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.bindMemory(to: Bytef.self).baseAddress)
            stream.pointee.avail_in = uInt(bytes.count)
            stream.pointee.next_out = out.bindMemory(to: Bytef.self).baseAddress
            stream.pointee.avail_out = uInt(bound)
            let result = deflate(stream, Z_FINISH)
            guard result == Z_STREAM_END else {
                throw CloudspoolError(.decompression, "zlib could not compress a request body", underlying: "zlib code \(result)")
            }
            return bound - Int(stream.pointee.avail_out)
        }
        output.count = written
        return output
    }

    public static func compress(_ data: Data, level: Int32 = 1) throws -> Data {
        try data.withUnsafeBytes { try compress($0, level: level) }
    }
}
