import Foundation
import Testing
@testable import Shared

@Suite struct RequestPaceTests {
    /// The first request goes at once and the interval to the second counts from the first answer (that
    /// request also opened the connection); later intervals count from each send. Throttled answers double
    /// the interval up to `slowest`, answers that pass shorten it by a tenth down to `fastest`.
    @Test func slowsOnThrottlingAndRecovers() {
        let time = ManualClock(Date(timeIntervalSince1970: 1_000_000))
        var pace = RequestPace(fastest: 0.5, slowest: 8, clock: time.clock)
        pace.next()
        #expect(time.sleeps.isEmpty)
        time.advance(0.2)   // the first answer, connection and all
        pace.passed()
        pace.next()
        #expect(abs(time.sleeps[0] - 0.5) < 1e-6)   // 0.5 s after the first answer
        time.advance(0.1)   // the second answer took 0.1 s: it counts towards the next interval
        pace.throttled()
        #expect(pace.interval == 1)
        pace.next()
        #expect(abs(time.sleeps[1] - 0.9) < 1e-6)
        for _ in 0..<2 { pace.throttled() }
        #expect(pace.interval == 4)
        for _ in 0..<3 { pace.throttled() }
        #expect(pace.interval == 8)
        pace.next()
        #expect(abs(time.sleeps[2] - 8) < 1e-6)
        for _ in 0..<100 { pace.passed() }
        #expect(pace.interval == 0.5)
    }

    /// Against a quota smaller than the pace's start (AWS's token bucket at `rate` requests/s,
    /// burst 1, as when others use part of LookupEvents' 2/s), the paced sender never meets 6
    /// throttled answers in a row (where a request is given up with the default
    /// `aws.max_retries` of 5) and settles near the quota; without slowing down, most requests
    /// at the lower rates would be refused many times in a row.
    @Test(arguments: [1.0, 0.5, 0.2])
    func settlesAtWhatTheQuotaLeaves(rate: Double) {
        let time = ManualClock(Date(timeIntervalSince1970: 1_000_000))
        var pace = RequestPace(fastest: InventoryEventLookup.interval, slowest: InventoryEventLookup.slowestInterval, clock: time.clock)
        var tokens = 1.0
        var stamp = time.now
        var inARow = 0, mostInARow = 0, passed = 0
        for _ in 0..<400 {
            pace.next()
            time.advance(0.05)   // latency
            tokens = min(1, tokens + time.now.timeIntervalSince(stamp) * rate)
            stamp = time.now
            if tokens >= 1 {
                tokens -= 1
                pace.passed()
                passed += 1
                inARow = 0
            } else {
                pace.throttled()
                inARow += 1
                mostInARow = max(mostInARow, inARow)
            }
        }
        #expect(mostInARow < 6)
        let elapsed = time.now.timeIntervalSince(Date(timeIntervalSince1970: 1_000_000))
        // Most of the quota is used: at least half of what it allowed over the run.
        #expect(Double(passed) >= 0.5 * rate * elapsed, "passed \(passed) in \(elapsed) s at \(rate)/s")
    }
}
