import Foundation
import Synchronization
import Testing
@testable import Shared

@Suite struct OrderedWorkersTests {
    /// Results come back in index order whatever order the workers finish in, and no more than
    /// `workers + ahead` jobs are ever taken and not consumed.
    @Test(arguments: [1, 2, 5])
    func inOrderAndBounded(workers: Int) throws {
        let running = Mutex(0)
        let most = Mutex(0)
        var seen: [Int] = []
        try OrderedWorkers.run(count: 40, workers: workers, ahead: 2, produce: { index in
            running.withLock { $0 += 1; let now = $0; most.withLock { $0 = max($0, now) } }
            usleep(UInt32((index * 7919) % 5) * 300)   // finish out of order
            return index * index
        }) { index, value in
            running.withLock { $0 -= 1 }
            usleep(200)   // a consumer slower than the workers: they must wait for it
            #expect(value == index * index)
            seen.append(index)
        }
        #expect(seen == Array(0..<40))
        // This count drops a little after the pool counts a result consumed, so it may see one job more;
        // without the bound the workers would run through all 40 jobs ahead of the consumer.
        #expect(most.withLock { $0 } <= workers + 2 + 1)
    }

    struct Stop: Error {}

    /// An error from the consumer stops the hand-out of new jobs, every result made and not consumed
    /// is discarded, and the error is rethrown.
    @Test func consumerErrorStops() {
        let produced = Mutex(0)
        var consumed: [Int] = []
        var discarded: [Int] = []
        #expect(throws: Stop.self) {
            try OrderedWorkers.run(count: 1000, workers: 2, ahead: 2, produce: { index in
                produced.withLock { $0 += 1 }
                return index
            }, discard: { discarded.append($0) }) { index, _ in
                consumed.append(index)
                if index == 3 { throw Stop() }
            }
        }
        let made = produced.withLock { $0 }
        #expect(made <= 3 + 1 + 4)
        #expect(consumed == [0, 1, 2, 3])
        #expect(discarded == Array(4..<made))
    }
}
