import Foundation
import Logging
import Synchronization

/// The CloudTrail events of a unit's instances (`cloudtrail:LookupEvents`, one
/// instance at a time), on a thread of its own beside the unit's other calls.
///
/// AWS allows LookupEvents 2 requests per second per account and region, so
/// a unit with many instances spends most of its time waiting for that pace;
/// running the lookups beside the unit's Describe calls makes a unit last as
/// long as the longer of the two instead of their sum. It uses its own
/// connection (to the CloudTrail endpoint), so a unit still holds at most one
/// connection per service.
struct InventoryEventLookup: Sendable {
    let account: InventoryAccount
    let region: String
    let credentials: any CredentialProvider
    let access: AWSAccess
    let store: InventoryCallStore
    let lookupEvents: Int
    let lookupSince: [String: String]
    let clock: RuntimeClock
    let logger: Logger

    /// How far before the newest known event LookupEvents looks again.
    static let overlapSeconds = 900
    /// LookupEvents allows 2 requests per second per account and region.
    static let interval: TimeInterval = 0.5
    /// The slowest pace after throttled answers (someone else using the quota).
    static let slowestInterval: TimeInterval = 8

    /// The lookups running on their thread.
    final class Running: Sendable {
        private let done = DispatchSemaphore(value: 0)
        private let outcome = Mutex<Result<[String: String], any Error>>(.success([:]))

        fileprivate func finish(_ result: Result<[String: String], any Error>) {
            outcome.withLock { $0 = result }
            done.signal()
        }

        /// Waits for the lookups; returns the newest event time seen per instance.
        func wait() throws -> [String: String] {
            done.wait()
            return try outcome.withLock { $0 }.get()
        }
    }

    /// Starts looking up the events of `instances`, one after the other, on a new thread.
    func start(instances: [String]) -> Running {
        let running = Running()
        let thread = Thread { [self] in
            running.finish(Result { try run(instances: instances) })
        }
        thread.stackSize = 1 << 20
        thread.start()
        return running
    }

    /// Looks up every instance; a refused or failed lookup is recorded and the others go on.
    func run(instances: [String]) throws -> [String: String] {
        // Throttled answers come back here to slow the pace; other failures are retried by the client.
        var retry = access.retry
        retry.retriesThrottling = false
        let client = AWSClient(service: .cloudtrail, region: region, account: account.id,
                               endpoint: access.endpoints.endpoint(for: .cloudtrail, region: region), credentials: credentials,
                               http: try HTTPClient(configuration: access.http), retry: retry, clock: clock, logger: logger)
        var pace = RequestPace(fastest: Self.interval, slowest: Self.slowestInterval, clock: clock)
        var latest: [String: String] = [:]
        for (n, instance) in instances.enumerated() {
            try StopRequest.checkpoint("before the CloudTrail events of \(instance)")
            do {
                try lookup(instance: instance, client: client, pace: &pace, latest: &latest)
            } catch let error as AWSServiceError where error.isThrottling {
                // Throttled at the slowest pace until the retries ran out: someone else takes the quota. Asking for
                // the other instances would only take minutes each; the next run asks again from the
                // same starting times.
                let left = instances.count - n - 1
                store.recordError("account \(account.id) region \(region): \(error); collected again by the next run"
                                  + (left > 0 ? " (with the events of the \(left) instance(s) after it, not asked in this run)" : ""),
                                  retryLater: true, account: account.id, region: region, call: "cloudtrail LookupEvents")
                for skipped in instances[n...] {
                    let key = "\(account.id)/\(region)/\(skipped)"
                    if latest[key] == nil, let since = lookupSince[key] { latest[key] = since }
                }
                break
            } catch let error as AWSServiceError {
                store.recordError("account \(account.id) region \(region): \(error)" + (error.isRetryable ? "; collected again by the next run" : ""),
                                  retryLater: error.isRetryable, account: account.id, region: region, call: "cloudtrail LookupEvents")
            } catch let error as HTTPClientError {
                store.recordError("account \(account.id) region \(region): cloudtrail LookupEvents \(instance): \(error); collected again by the next run",
                                  retryLater: true, account: account.id, region: region, call: "cloudtrail LookupEvents")
            }
        }
        return latest
    }

    /// The latest events of one instance, newer than the last run's.
    func lookup(instance: String, client: AWSClient, pace: inout RequestPace, latest: inout [String: String]) throws {
        var token: String?
        var fetched = 0
        let key = "\(account.id)/\(region)/\(instance)"
        repeat {
            var body: [String: Any] = [
                "LookupAttributes": [["AttributeKey": "ResourceName", "AttributeValue": instance]],
                "MaxResults": min(50, lookupEvents - fetched),
            ]
            if let since = lookupSince[key], let date = UTCDate.parseISO8601(since) {
                // CloudTrail makes events visible to LookupEvents minutes late: look again from a window before
                // the newest event known; transform drops the events it already has (by EventId).
                body["StartTime"] = Int(date.timeIntervalSince1970) - Self.overlapSeconds
            }
            if let token { body["NextToken"] = token }
            let (response, requestedAt) = try paced(client: client, pace: &pace, body: body)
            try store.store(response.body, service: "cloudtrail", operation: "LookupEvents", account: account.id, region: region,
                            parameters: ["ResourceName": instance, "StartTime": lookupSince[key] ?? ""], status: response.status,
                            requestedAt: requestedAt, json: true)
            let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            let events = json?["Events"] as? [[String: Any]] ?? []
            fetched += events.count
            for event in events {
                if let time = (event["EventTime"] as? NSNumber)?.doubleValue {
                    let iso = UTCDate.iso8601(Date(timeIntervalSince1970: time))
                    if iso > (latest[key] ?? lookupSince[key] ?? "") { latest[key] = iso }
                }
            }
            token = json?["NextToken"] as? String
        } while token != nil && fetched < lookupEvents
        if latest[key] == nil, let since = lookupSince[key] { latest[key] = since }
    }

    /// One LookupEvents request at the pace; a throttled answer slows the pace and
    /// is sent again, `aws.max_retries` times at most (the pace doubles each time:
    /// with the default 5, the last try comes about 23 s after the first).
    func paced(client: AWSClient, pace: inout RequestPace, body: [String: Any]) throws -> (HTTPResponse, Date) {
        var throttled = 0
        while true {
            pace.next()
            let requestedAt = clock.now()
            do {
                let response = try client.json(target: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
                                               operation: "LookupEvents", body: body)
                pace.passed()
                return (response, requestedAt)
            } catch let error as AWSServiceError where error.isThrottling && throttled < access.retry.maxRetries {
                throttled += 1
                pace.throttled()
                logger.info("LookupEvents throttled; slowing down", metadata: [
                    "account": "\(account.id)", "region": "\(region)", "interval_s": "\(String(format: "%.2f", pace.interval))",
                    "attempt": "\(throttled)",
                ])
            }
        }
    }
}
