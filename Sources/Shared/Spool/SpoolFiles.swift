import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system operations with the guarantees the spool contract needs:
/// owner/group-only permissions, `fsync` before `rename`, and errors that
/// name the path and the reason.
public enum SpoolFiles {
    /// Folder permissions: owner and group.
    public static let directoryMode: mode_t = 0o750
    /// File permissions: owner and group.
    public static let fileMode: mode_t = 0o640

    /// Creates `url` and its parents with the spool's folder mode.
    public static func makeDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: Int(directoryMode)])
        } catch {
            throw CloudspoolError(.spool, "cannot create folder \(url.path): \(error.localizedDescription); check the spool's owner and free space")
        }
    }

    /// Writes `data` to `url` atomically: a temporary file beside it, fsync, rename, fsync of the folder.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        try makeDirectory(folder)
        let temp = folder.appendingPathComponent(".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(url.lastPathComponent)")
        let file = try OutputFile(creating: temp)
        do {
            try file.write(data)
            try file.sync()
            try file.close()
            try rename(temp, to: url)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
    }

    /// `rename(2)` then `fsync` of the destination folder, so the new name survives a crash.
    public static func rename(_ from: URL, to: URL) throws {
        guard Foundation.rename(from.path, to.path) == 0 else {
            throw CloudspoolError(.spool, "cannot rename \(from.path) to \(to.path): \(systemErrorText())")
        }
        syncDirectory(to.deletingLastPathComponent())
    }

    /// Moves a file or folder, creating the destination's parent.
    public static func move(_ from: URL, to: URL) throws {
        try makeDirectory(to.deletingLastPathComponent())
        if FileManager.default.fileExists(atPath: to.path) { try? FileManager.default.removeItem(at: to) }
        try rename(from, to: to)
    }

    public static func syncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = close(fd)
    }

    /// Removes a file or folder if it exists.
    public static func remove(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        do {
            try FileManager.default.removeItem(at: url)
        } catch {
            throw CloudspoolError(.spool, "cannot remove \(url.path): \(error.localizedDescription)")
        }
    }

    /// The names in a folder, sorted; empty when it does not exist. Hidden and temporary names are left out.
    public static func list(_ url: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    /// The temporary files (`.tmp-<pid>-<random>-<final name>`, see `writeAtomically`) of a folder,
    /// which `list` leaves out.
    public static func temporaries(_ url: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { $0.hasPrefix(".tmp-") }.sorted()
    }

    public static func isDirectory(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }

    public static func size(_ url: URL) -> Int64 {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return 0 }
        return Int64(info.st_size)
    }

    /// Seconds since the file was last modified.
    public static func modificationDate(_ url: URL) -> Date? {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
    }
}

/// A file being written with `write(2)`, buffered, with explicit `fsync`
/// and optional write-behind.
/// The descriptor is closed in `deinit` if the owner forgot.
public final class OutputFile {
    public let url: URL
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    /// Bytes handed to `write` so far (buffered ones included).
    public private(set) var bytesWritten: Int64 = 0

    /// Bytes handed to `write(2)`: where the descriptor's offset is.
    private var handedOver: Int64 = 0
    private var writeBehind: WriteBehind

    /// Creates (truncating) the file with the spool's file mode. With a
    /// `writeBehind` window (bytes), the file is written to disk as it grows
    /// and its pages leave the page cache once there (see ``WriteBehind``);
    /// for large files written once and read later by another process.
    public init(creating url: URL, writeBehind window: Int = 0) throws {
        self.url = url
        writeBehind = WriteBehind(window: window)
        // O_NOFOLLOW: a symbolic link planted where a spool file goes is refused, never written through.
        fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, SpoolFiles.fileMode)
        guard fd >= 0 else {
            throw CloudspoolError(.spool, "cannot create \(url.path): \(systemErrorText())\(errno == ELOOP ? " (a symbolic link: cloudspool never follows links inside the spool)" : "")")
        }
        buffer.reserveCapacity(bufferLimit)
    }

    deinit {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        bytesWritten += Int64(bytes.count)
        if buffer.count + bytes.count > bufferLimit {
            try flush()
            if bytes.count >= bufferLimit {
                try writeAll(bytes)
                return
            }
        }
        buffer.append(contentsOf: bytes)
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw CloudspoolError(.spool, "cannot write \(url.path): \(systemErrorText()); check free space on the spool's file system")
            }
            offset += n
        }
        handedOver += Int64(bytes.count)
        writeBehind.wrote(through: handedOver, fd: fd)
    }

    /// Drops everything after `length` bytes (undoing a failed piece of output).
    public func truncate(to length: Int64) throws {
        try flush()
        guard ftruncate(fd, off_t(length)) == 0, lseek(fd, off_t(length), SEEK_SET) >= 0 else {
            throw CloudspoolError(.spool, "cannot truncate \(url.path): \(systemErrorText())")
        }
        bytesWritten = length
        handedOver = length
        writeBehind.truncated(to: length)
    }

    public func sync() throws {
        try flush()
        guard fsync(fd) == 0 else {
            throw CloudspoolError(.spool, "cannot fsync \(url.path): \(systemErrorText())")
        }
        writeBehind.synced(fd: fd, length: handedOver)
    }

    public func close() throws {
        try flush()
        guard fd >= 0 else { return }
        let result = Glibc.close(fd)
        fd = -1
        guard result == 0 else {
            throw CloudspoolError(.spool, "cannot close \(url.path): \(systemErrorText())")
        }
    }
}
