import Synchronization

/// Large byte buffers reused from one input file to the next: a worker fills
/// one with a file's documents, the writer empties it into the output and
/// hands it back. A run of thousands of CloudTrail files then reuses a few
/// allocations of several megabytes instead of faulting in fresh pages for
/// every file. At most `keep` buffers of at most `maxKeptBytes` each are kept.
final class ByteBufferPool: Sendable {
    /// One buffer. Owned by one side at a time: the worker that filled it,
    /// then the writer, then the pool.
    final class Buffer: @unchecked Sendable {
        var bytes: [UInt8] = []
    }

    /// Buffers larger than this (from an unusually large file) are released, not kept.
    static let maxKeptBytes = 64 << 20

    private let free = Mutex<[Buffer]>([])
    private let keep: Int

    init(keep: Int) {
        self.keep = keep
    }

    /// An empty buffer, with the capacity it had when given back.
    func take() -> Buffer {
        free.withLock { $0.popLast() } ?? Buffer()
    }

    /// Empties `buffer` and keeps it for the next `take`.
    func give(_ buffer: Buffer) {
        guard buffer.bytes.capacity <= Self.maxKeptBytes else { return }
        buffer.bytes.removeAll(keepingCapacity: true)
        free.withLock { if $0.count < keep { $0.append(buffer) } }
    }
}
