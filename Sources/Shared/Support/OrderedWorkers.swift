import Foundation

/// Runs `count` independent jobs on `workers` threads and hands each result
/// to the calling thread in index order as soon as it and every result before
/// it are ready, while the workers go on with the next jobs: the output is
/// the same as one thread's, and writing it overlaps with the work.
///
/// At most `ahead` results wait to be consumed at any time, so memory stays
/// bounded by `workers + ahead` results whatever `count` is. If `consume`
/// throws, no further job is started, the running ones finish, every result
/// that was made but not consumed goes to `discard` (to remove what it left
/// on disk), and the error is rethrown.
enum OrderedWorkers {
    static func run<Result: Sendable>(count: Int, workers: Int, ahead: Int,
                                      produce: @escaping @Sendable (Int) -> Result,
                                      discard: (Result) -> Void = { _ in },
                                      consume: (Int, Result) throws -> Void) throws {
        guard count > 0 else { return }
        let workers = min(max(workers, 1), count)
        let state = State<Result>(outstanding: workers + max(ahead, 0))
        let group = DispatchGroup()
        for _ in 0..<workers {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while let index = state.take(below: count) {
                    state.put(index, produce(index))
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        var failure: Error?
        do {
            for index in 0..<count {
                try consume(index, state.next(index))
            }
        } catch {
            failure = error
        }
        state.stop()
        group.wait()
        if let failure {
            state.unconsumed().forEach(discard)
            throw failure
        }
    }

    private final class State<Result: Sendable>: @unchecked Sendable {
        private let condition = NSCondition()
        /// Jobs taken and not yet consumed (running or waiting), at most.
        private let outstanding: Int
        private var nextToTake = 0
        private var consumed = 0
        private var stopped = false
        private var ready: [Int: Result] = [:]

        init(outstanding: Int) { self.outstanding = outstanding }

        /// The next job for a worker, once fewer than `outstanding` are taken and not consumed; nil when done.
        func take(below count: Int) -> Int? {
            condition.lock()
            defer { condition.unlock() }
            while !stopped && nextToTake < count && nextToTake - consumed >= outstanding { condition.wait() }
            guard !stopped, nextToTake < count else { return nil }
            defer { nextToTake += 1 }
            return nextToTake
        }

        func put(_ index: Int, _ result: Result) {
            condition.lock()
            ready[index] = result
            condition.broadcast()
            condition.unlock()
        }

        /// The result of job `index`, waiting for it.
        func next(_ index: Int) -> Result {
            condition.lock()
            defer { condition.unlock() }
            while ready[index] == nil { condition.wait() }
            consumed = index + 1
            condition.broadcast()
            return ready.removeValue(forKey: index)!
        }

        /// The results made and never consumed (call once the workers are done).
        func unconsumed() -> [Result] {
            condition.lock()
            defer { condition.unlock() }
            return ready.keys.sorted().map { ready[$0]! }
        }

        func stop() {
            condition.lock()
            stopped = true
            condition.broadcast()
            condition.unlock()
        }
    }
}
