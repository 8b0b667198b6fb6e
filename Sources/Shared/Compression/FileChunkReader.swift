import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a file sequentially in fixed-size chunks with `read(2)`.
public enum FileChunkReader {
    public static func read(_ url: URL, chunkSize: Int = 256 * 1024, from offset: Int64 = 0, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CloudspoolError(.spool, "cannot open \(url.path): \(systemErrorText())")
        }
        defer { close(fd) }
        if offset > 0 {
            guard lseek(fd, off_t(offset), SEEK_SET) >= 0 else {
                throw CloudspoolError(.spool, "cannot seek in \(url.path): \(systemErrorText())")
            }
        }
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw CloudspoolError(.spool, "cannot read \(url.path): \(systemErrorText())")
            }
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}
