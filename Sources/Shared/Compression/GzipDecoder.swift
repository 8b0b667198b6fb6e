import CZlib
import Foundation

/// Streaming gzip (and zlib) decompression with zlib's `inflate`.
///
/// Input is fed in chunks and output is handed to a closure in chunks of at
/// most `outputChunkSize`, so memory stays flat however large the stream.
/// Concatenated gzip members (which `gzip` and some writers produce) are
/// decoded one after the other. A truncated or corrupt stream throws a
/// `CloudspoolError(.decompression)` with zlib's own message.
public final class GzipDecoder {
    // z_stream must not move while zlib uses it: keep it on the heap.
    private let stream: UnsafeMutablePointer<z_stream>
    private var output: [UInt8]
    private var finished = false
    private var sawInput = false
    public let outputChunkSize: Int

    public init(outputChunkSize: Int = 256 * 1024) throws {
        self.outputChunkSize = outputChunkSize
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = [UInt8](repeating: 0, count: outputChunkSize)
        // 15 + 32: a gzip or zlib header, detected automatically.
        let status = cloudspool_inflateInit2(stream, 15 + 32)
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw CloudspoolError(.decompression, "zlib could not start inflating", underlying: "zlib code \(status)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Whether the last member ended exactly at the end of the input so far.
    public var isAtMemberEnd: Bool { finished }

    /// Decompresses `input`, calling `body` with each chunk of output.
    public func decode(_ input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard input.count > 0 else { return }
        sawInput = true
        var remaining = input
        while remaining.count > 0 {
            if finished {
                // Another gzip member follows the one that ended.
                if remaining.allSatisfy({ $0 == 0 }) { return }   // zero padding after the last member
                guard inflateReset(stream) == Z_OK else {
                    throw CloudspoolError(.decompression, "zlib could not start the next gzip member")
                }
                finished = false
            }
            stream.pointee.next_in = UnsafeMutablePointer(mutating: remaining.baseAddress!.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(remaining.count)
            repeat {
                let produced: Int = try output.withUnsafeMutableBytes { out in
                    stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(out.count)
                    let status = inflate(stream, Z_NO_FLUSH)
                    switch status {
                    case Z_OK, Z_BUF_ERROR:
                        break
                    case Z_STREAM_END:
                        finished = true
                    default:
                        let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib code \(status)"
                        throw CloudspoolError(.decompression, "the data is not valid gzip: \(message)", underlying: "zlib code \(status)")
                    }
                    return out.count - Int(stream.pointee.avail_out)
                }
                if produced > 0 {
                    try output.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
                }
                if finished { break }
            } while stream.pointee.avail_out == 0
            let consumed = remaining.count - Int(stream.pointee.avail_in)
            remaining = UnsafeRawBufferPointer(rebasing: remaining[consumed...])
            if !finished {
                // With output space left, zlib takes all the input it is given.
                guard remaining.count == 0 else {
                    throw CloudspoolError(.decompression, "zlib stopped consuming input before the end of the gzip member")
                }
                break
            }
        }
    }

    /// Checks the stream ended where a gzip member ends; a truncated file throws.
    public func finish() throws {
        guard sawInput else {
            throw CloudspoolError(.decompression, "the file is empty: an empty file is not valid gzip")
        }
        guard finished else {
            throw CloudspoolError(.decompression, "the gzip data ends early: the file is truncated")
        }
    }

    /// Decompresses a whole file, streaming it in `readChunkSize` pieces.
    /// `input`, when given, sees every compressed chunk as it is read (to hash the file in the same pass).
    public static func decodeFile(_ url: URL, readChunkSize: Int = 256 * 1024, input: ((UnsafeRawBufferPointer) -> Void)? = nil,
                                  _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let decoder = try GzipDecoder()
        try FileChunkReader.read(url, chunkSize: readChunkSize) { chunk in
            input?(chunk)
            try decoder.decode(chunk, body)
        }
        try decoder.finish()
    }
}
