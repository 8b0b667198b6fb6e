import Foundation

/// Runs `count` pieces of blocking work (HTTP calls through libcurl) on at
/// most `workers` threads. The first error stops the handing out of new
/// work and is rethrown once every thread is done.
public enum WorkerPool {
    public static func run(count: Int, workers: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        guard count > 0 else { return }
        let next = Counter()
        let failure = FirstError()
        let group = DispatchGroup()
        for _ in 0..<min(max(workers, 1), count) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while !failure.isSet, let index = next.take(below: count) {
                    do { try body(index) } catch { failure.set(error) }
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        if let error = failure.error { throw error }
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        func take(below limit: Int) -> Int? {
            lock.withLock {
                guard next < limit else { return nil }
                defer { next += 1 }
                return next
            }
        }
    }

    private final class FirstError: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Error?
        var isSet: Bool { lock.withLock { stored != nil } }
        var error: Error? { lock.withLock { stored } }
        func set(_ error: Error) { lock.withLock { if stored == nil { stored = error } } }
    }
}
