import CFileIO
import Foundation

/// Write-behind for a file written front to back: every `window` bytes the
/// kernel is asked to start writing the new bytes to disk (`sync_file_range`),
/// and the window before them, once on disk, is dropped from the page cache
/// (`POSIX_FADV_DONTNEED`).
///
/// A transform writes up to gigabytes of NDJSON that load reads later, usually
/// long after the cache has moved on. Left to the kernel, those bytes pile up
/// as dirty pages (up to `vm.dirty_ratio` of memory, where every writer on the
/// host is throttled), the `fsync` before the rename then waits for all of
/// them at once, and the cache fills with output nobody rereads, evicting the
/// host's working set. With write-behind the disk writes while the CPU
/// transforms, `fsync` finds little left to do, and the output holds at most
/// two windows of the page cache, whose pages are reused for the next window
/// instead of new ones taken from free memory. (PostgreSQL's `*_flush_after`
/// and RocksDB's `bytes_per_sync` do the same for the same reasons.)
///
/// Advisory only: durability still comes from `fsync`, which reports any
/// write error; if the file system refuses `sync_file_range`, write-behind
/// turns itself off for the file.
struct WriteBehind {
    /// Bytes between two requests; 0 turns write-behind off.
    let window: Int64
    /// Writeback was requested for `[0, started)`.
    private(set) var started: Int64 = 0
    /// `[0, dropped)` is on disk and was dropped from the cache.
    private(set) var dropped: Int64 = 0
    private var enabled: Bool

    init(window: Int) {
        self.window = Int64(max(window, 0))
        enabled = window > 0
    }

    /// Called after `end` bytes of the file have been handed to `write(2)`.
    mutating func wrote(through end: Int64, fd: Int32) {
        guard enabled, end - started >= window else { return }
        if started > dropped {
            // The window requested last time has had a window's worth of writing to reach the disk.
            let flags = CLOUDSPOOL_SYNC_WAIT_BEFORE | CLOUDSPOOL_SYNC_WRITE | CLOUDSPOOL_SYNC_WAIT_AFTER
            guard cloudspool_sync_file_range(fd, dropped, started - dropped, flags) == 0 else { return turnOff() }
            _ = posix_fadvise(fd, off_t(dropped), off_t(started - dropped), Int32(POSIX_FADV_DONTNEED))
            dropped = started
        }
        guard cloudspool_sync_file_range(fd, started, end - started, CLOUDSPOOL_SYNC_WRITE) == 0 else {
            return turnOff()
        }
        started = end
    }

    /// The file was cut to `length` bytes.
    mutating func truncated(to length: Int64) {
        started = min(started, length)
        dropped = min(dropped, length)
    }

    /// Called after `fsync`: every page of the file is clean and can go.
    mutating func synced(fd: Int32, length: Int64) {
        guard enabled else { return }
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        started = length
        dropped = length
    }

    private mutating func turnOff() {
        enabled = false
    }
}
