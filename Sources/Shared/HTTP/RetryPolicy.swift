import Foundation

/// When and how long to wait before retrying: capped exponential backoff
/// with full jitter, honouring a server's `Retry-After`.
public struct RetryPolicy: Sendable {
    /// Retries after the first attempt.
    public var maxRetries: Int
    /// The backoff ceiling of the first retry, doubled for each further one.
    public var baseDelay: TimeInterval
    /// No single wait is longer than this.
    public var maxDelay: TimeInterval
    /// Whether a throttled answer is retried here. `false` hands it straight
    /// to the caller, which paces that API itself (see `RequestPace`).
    public var retriesThrottling: Bool

    public init(maxRetries: Int, baseDelay: TimeInterval = 0.2, maxDelay: TimeInterval = 20, retriesThrottling: Bool = true) {
        self.maxRetries = maxRetries
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.retriesThrottling = retriesThrottling
    }

    /// The wait before retry number `attempt` (0 for the first retry).
    /// `random` picks uniformly from a range; tests pass a fixed function.
    public func delay(attempt: Int, retryAfter: String? = nil, random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) -> TimeInterval {
        let ceiling = min(maxDelay, baseDelay * pow(2, Double(min(attempt, 30))))
        var wait = random(0...ceiling)
        if let retryAfter, let seconds = Double(retryAfter.trimmingCharacters(in: .whitespaces)), seconds > 0 {
            wait = max(wait, min(seconds, maxDelay))
        }
        return wait
    }
}

/// How a component waits and tells time; tests inject exact ones.
public struct RuntimeClock: Sendable {
    public var now: @Sendable () -> Date
    public var sleep: @Sendable (TimeInterval) -> Void

    public init(now: @escaping @Sendable () -> Date, sleep: @escaping @Sendable (TimeInterval) -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// The wall clock and real sleeping.
    public static let system = RuntimeClock(now: { Date() }, sleep: { seconds in
        if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
    })
}
