import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The exclusive lock of a stage (`locks/<stage>.lock`, `flock`).
///
/// The kernel releases it when the process ends, however it ends, so a
/// killed run never leaves a stale lock behind.
public final class StageLock {
    public let url: URL
    private var fd: Int32 = -1

    /// Tries to take the lock; returns nil when another process holds it.
    public static func acquire(stage: String, layout: SpoolLayout) throws -> StageLock? {
        try SpoolFiles.makeDirectory(layout.locks)
        let lock = StageLock(url: layout.locks.appendingPathComponent("\(stage).lock"))
        lock.fd = open(lock.url.path, O_RDWR | O_CREAT | O_CLOEXEC, SpoolFiles.fileMode)
        guard lock.fd >= 0 else {
            throw CloudspoolError(.spool, "cannot open lock file \(lock.url.path): \(systemErrorText())")
        }
        if flock(lock.fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EWOULDBLOCK { return nil }
            throw CloudspoolError(.spool, "cannot lock \(lock.url.path): \(systemErrorText())")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(lock.fd, 0)
        _ = pid.withCString { pwrite(lock.fd, $0, strlen($0), 0) }
        return lock
    }

    /// The pid written by the current holder, for the "already running" message.
    public static func holder(stage: String, layout: SpoolLayout) -> String? {
        let url = layout.locks.appendingPathComponent("\(stage).lock")
        return (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private init(url: URL) {
        self.url = url
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }
}
