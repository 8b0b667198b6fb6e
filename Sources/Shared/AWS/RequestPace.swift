import Foundation

/// Spaces the requests of one API to the rate AWS allows it, and slows down
/// when AWS says that rate is already taken.
///
/// Some APIs have a small fixed quota shared by everyone calling them in an
/// account and region (CloudTrail LookupEvents: 2 requests per second). The
/// pace starts at that quota; a throttled answer doubles the interval (up to
/// `slowest`), and each answer that gets through shortens it by a tenth again,
/// never below `fastest`: quick to back off, slow to speed up, as TCP and the
/// AWS SDKs' adaptive retry mode are, so a collector sharing the quota with the console
/// or another tool settles at what is left instead of failing.
public struct RequestPace: Sendable {
    /// The shortest interval: the quota AWS documents.
    public let fastest: TimeInterval
    /// The longest interval after throttled answers.
    public let slowest: TimeInterval
    /// The interval now.
    public private(set) var interval: TimeInterval
    private let clock: RuntimeClock
    private var last: Date?
    private var answers = 0

    public init(fastest: TimeInterval, slowest: TimeInterval, clock: RuntimeClock) {
        precondition(fastest > 0 && slowest >= fastest, "the pace needs 0 < fastest <= slowest")
        self.fastest = fastest
        self.slowest = slowest
        self.interval = fastest
        self.clock = clock
    }

    /// Waits until `interval` has passed since the previous request was sent.
    public mutating func next() {
        if let last {
            let wait = interval - clock.now().timeIntervalSince(last)
            if wait > 0 { clock.sleep(wait) }
        }
        last = clock.now()
    }

    /// The request got through: speed up by a tenth, back towards `fastest`.
    public mutating func passed() {
        answered()
        interval = max(fastest, interval * 0.9)
    }

    /// The request was throttled: halve the rate.
    public mutating func throttled() {
        answered()
        interval = min(slowest, interval * 2)
    }

    /// The first answer restarts the interval: the first request also opened its connection, so when it was
    /// sent says little about when AWS counted it (the second, sent `interval` later on the open connection,
    /// could arrive sooner after it than that).
    private mutating func answered() {
        if answers == 0 { last = clock.now() }
        answers += 1
    }
}
