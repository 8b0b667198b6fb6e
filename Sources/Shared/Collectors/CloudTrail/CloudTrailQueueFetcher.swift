import Foundation
import Logging

/// Queue mode of the CloudTrail source (`cloudtrail.queue_url`): instead of
/// listing the trail bucket, receives the messages that announce new log
/// files and stores each file they name, byte for byte, in raw runs of at most
/// `batch_objects` files, exactly like the listing does (same manifest
/// entries), so transform and load do not know which mode fetched.
///
/// A message is deleted only once every object it names is in a raw run that
/// was renamed into place; until then its visibility is extended while
/// downloads go on (see `CloudTrailQueuePolicy` for failures and quarantine).
/// Several fetchers, on one host (each with its own spool) or many, can read
/// the same queue: SQS hands each message to one of them at a time, and a
/// message handed out twice (a fetcher killed before it deleted it, a
/// visibility timeout that ran out) only stores a file twice, whose events
/// keep their ids (`eventID`), so the index holds each once.
///
/// A run ends when one receive waited `queue_wait_seconds` for nothing (the
/// queue is drained), or after `queue_max_seconds`.
public final class CloudTrailQueueFetcher {
    /// The visibility used when the queue's own is 0.
    static let fallbackVisibilitySeconds = 30

    let settings: CloudTrailSettings
    let queue: CloudTrailQueueSettings
    let s3: S3Client
    let sqs: SQSClient
    let layout: SpoolLayout
    let clock: RuntimeClock
    let logger: Logger
    /// The longest long poll the HTTP stall timeout (`aws.timeout_seconds`) lets through.
    let maxWaitSeconds: Int

    public init(context: StageContext, settings: CloudTrailSettings, queue: CloudTrailQueueSettings, s3: S3Client, sqs: SQSClient,
                stallTimeoutSeconds: Int) {
        self.settings = settings
        self.queue = queue
        self.s3 = s3
        self.sqs = sqs
        self.layout = context.layout
        self.clock = context.clock
        self.logger = context.logger
        self.maxWaitSeconds = max(0, min(SQSClient.maxWaitSeconds, stallTimeoutSeconds - 2))
    }

    /// A message received and not yet deleted or let go.
    struct Held {
        let message: SQSMessage
        /// When SQS hands it out again unless it is extended or deleted.
        var visibleUntil: Date
    }

    /// The mutable state of one run.
    struct Session {
        var writer: RawRunWriter
        /// Received, not handled yet (the first one is being handled).
        var inHand: [Held] = []
        /// Handled; waiting for the open raw run to be renamed into place.
        var waiting: [Held] = []
        /// Handled, nothing left to wait for: deleted before the next receive.
        var settled: [SQSMessage] = []
        /// Keys in the open raw run, and in the runs this run renamed into place.
        var openKeys: Set<String> = []
        var committedKeys: Set<String> = []
        /// Set when S3 or SQS failed in a way that may pass: stop receiving.
        var stop = false
        /// Messages that failed and come back (by id), with why: errors of the run unless they are settled
        /// (quarantined, or fetched) later in the same run.
        var failing: [String: String] = [:]
    }

    /// What handling one message came to.
    enum Handled {
        case outcome(CloudTrailQueuePolicy.Outcome)
        /// A failure that may pass (S3 unreachable or throttled after every retry): not the message's fault.
        case transient(String)
    }

    public func run(report: inout RunReport) throws {
        let attributes = try sqs.attributes()
        let visibility = attributes.visibilityTimeout > 0 ? attributes.visibilityTimeout : Self.fallbackVisibilitySeconds
        let policy = CloudTrailQueuePolicy(maxReceives: queue.maxReceives, redrive: attributes.redrive, visibilitySeconds: visibility)
        logger.info("reading the trail queue", metadata: [
            "queue": "\(queue.url)", "visibility_s": "\(visibility)", "waiting": "\(attributes.approximateMessages.map(String.init) ?? "?")",
            "redrive": "\(attributes.redrive.map { "\($0.deadLetterTargetArn) after \($0.maxReceiveCount)" } ?? "none")",
        ])
        let deadline = clock.now().addingTimeInterval(TimeInterval(queue.maxSeconds))
        var session = Session(writer: try newWriter())
        defer { session.writer.discard() }
        do {
            try receiveUntilDone(&session, policy: policy, overrideVisibility: attributes.visibilityTimeout > 0 ? nil : visibility,
                                 deadline: deadline, report: &report)
        } catch let error as CloudspoolError where error.code == .stopped {
            // Asked to stop: what is downloaded is made durable and its messages deleted, then stop.
            try? finish(&session, report: &report)
            throw error
        }
        try finish(&session, report: &report)
    }

    func receiveUntilDone(_ session: inout Session, policy: CloudTrailQueuePolicy, overrideVisibility: Int?, deadline: Date,
                          report: inout RunReport) throws {
        while !session.stop {
            try StopRequest.checkpoint("reading the trail queue")
            let remaining = deadline.timeIntervalSince(clock.now())
            guard remaining > 0 else {
                logger.info("cloudtrail.queue_max_seconds reached; the next run goes on", metadata: ["seconds": "\(queue.maxSeconds)"])
                return
            }
            // Wait for messages only when none is waiting for the open raw run to be committed.
            let wait = session.waiting.isEmpty ? min(queue.waitSeconds, maxWaitSeconds, Int(remaining.rounded(.up))) : 0
            let receivedAt = clock.now()
            let messages: [SQSMessage]
            do {
                messages = try sqs.receive(waitSeconds: wait, visibilityTimeout: overrideVisibility)
            } catch let error as AWSServiceError {
                if error.isRetryable { report.addRetryLater("\(error); the queue is read again on the next run") } else { report.errors.append("\(error)") }
                return
            } catch let error as HTTPClientError {
                report.addRetryLater("sqs ReceiveMessage of \(queue.url): \(error); the queue is read again on the next run")
                return
            }
            if messages.isEmpty {
                if session.waiting.isEmpty { return }    // waited for nothing: drained
                try commit(&session, report: &report)     // nothing more right now: make the open run durable
                continue
            }
            report.add("messages", Int64(messages.count))
            session.inHand = messages.map { Held(message: $0, visibleUntil: receivedAt.addingTimeInterval(TimeInterval(policy.visibilitySeconds))) }
            while let current = session.inHand.first {
                try StopRequest.checkpoint("between queue messages")
                if current.message.receiveCount > 1 { report.add("redelivered") }
                let handled = try handle(current.message, session: &session, policy: policy, report: &report)
                let held = session.inHand.removeFirst()
                switch handled {
                case .transient(let text):
                    report.addRetryLater("\(text); message \(held.message.messageId) comes back after its visibility timeout")
                    session.stop = true
                case .outcome(let outcome):
                    try settle(held, outcome: outcome, policy: policy, session: &session, report: &report)
                }
                if session.stop { break }
                if session.writer.count >= settings.batchObjects {
                    try commit(&session, report: &report)
                }
            }
            // Messages of this receive not handled (a stop): they come back after their visibility timeout.
            session.inHand.removeAll()
            deleteSettled(&session, report: &report)
        }
    }

    /// Fetches what one message names into the open raw run.
    func handle(_ message: SQSMessage, session: inout Session, policy: CloudTrailQueuePolicy, report: inout RunReport) throws -> Handled {
        let notification: CloudTrailNotification
        do {
            notification = try CloudTrailNotification.parse(message.body)
        } catch {
            return .outcome(.failed("the message cannot be read: \(error.reason)"))
        }
        switch notification {
        case .test:
            report.add("test_events")
            return .outcome(.settled)
        case .nothing(let why):
            report.add("messages_without_objects")
            logger.info("message names no new object", metadata: ["message": "\(message.messageId)", "why": "\(why)"])
            return .outcome(.settled)
        case .objects(let objects, let format):
            var inOpenRun = false
            for object in objects {
                guard object.bucket == settings.bucket else {
                    report.add("skipped")
                    logger.info("skipped: not the trail bucket", metadata: ["bucket": "\(object.bucket)", "format": "\(format.rawValue)"])
                    continue
                }
                guard object.key.hasPrefix(settings.prefix), let key = CloudTrailKey(key: object.key),
                      settings.accounts.isEmpty || settings.accounts.contains(key.account),
                      settings.regions.isEmpty || settings.regions.contains(key.region) else {
                    // digests, ConfigWritabilityCheckFile, other prefixes, accounts and regions not configured
                    report.add("skipped")
                    continue
                }
                if session.committedKeys.contains(object.key) {
                    report.add("duplicates")
                    continue
                }
                if session.openKeys.contains(object.key) {
                    report.add("duplicates")
                    inOpenRun = true
                    continue
                }
                extendVisibility(&session, policy: policy, report: &report)
                do {
                    let entry = try session.writer.storeObject(from: s3, bucket: settings.bucket, key: object.key, account: key.account,
                                                               region: key.region, clock: clock)
                    session.openKeys.insert(object.key)
                    inOpenRun = true
                    report.add("files")
                    report.add("bytes", entry.size)
                    if report.count("files") % 100 == 0 {
                        logger.info("fetching", metadata: ["files": "\(report.count("files"))", "bytes": "\(report.count("bytes"))"])
                    }
                } catch let error as AWSServiceError where !error.isRetryable {
                    return .outcome(.failed("s3://\(settings.bucket)/\(object.key): \(error)"))
                } catch let error as AWSServiceError {
                    return .transient("s3://\(settings.bucket)/\(object.key): \(error)")
                } catch let error as HTTPClientError {
                    return .transient("s3://\(settings.bucket)/\(object.key): \(error)")
                }
            }
            return .outcome(inOpenRun ? .inOpenRun : .settled)
        }
    }

    /// Acts on how a message was handled.
    func settle(_ held: Held, outcome: CloudTrailQueuePolicy.Outcome, policy: CloudTrailQueuePolicy, session: inout Session,
                report: inout RunReport) throws {
        let message = held.message
        let action = policy.action(for: outcome, receiveCount: message.receiveCount)
        session.failing[message.messageId] = nil
        guard case .failed(let failure) = outcome else {
            if action == .deleteAfterCommit { session.waiting.append(held) } else { session.settled.append(message) }
            return
        }
        report.add("messages_failed")
        let what = "message \(message.messageId) of \(queue.url) (received \(message.receiveCount) time\(message.receiveCount == 1 ? "" : "s"))"
        switch action {
        case .retryLater:
            let limit = policy.redrive.map { "the queue's redrive policy moves it to its dead-letter queue after \($0.maxReceiveCount) receives" }
                ?? "it is quarantined after \(policy.maxReceives) receives (cloudtrail.queue_max_receives)"
            session.failing[message.messageId] = "\(what): \(failure); it comes back after its visibility timeout (\(limit))"
        case .quarantineAndDelete:
            let path = try quarantine(message, reason: "\(what): \(failure); quarantined and deleted from the queue after \(message.receiveCount) receives")
            session.settled.append(message)
            report.add("messages_quarantined")
            report.errors.append("\(what): \(failure); quarantined to \(path) and deleted from the queue")
        case .quarantineCopyForDeadLetterQueue:
            let target = policy.redrive?.deadLetterTargetArn ?? "its dead-letter queue"
            let path = try quarantine(message, reason: "\(what): \(failure); left in the queue, whose redrive policy moves it to \(target)")
            report.add("messages_quarantined")
            report.errors.append("\(what): \(failure); left for the queue's dead-letter queue \(target), a copy in \(path)")
        case .delete, .deleteAfterCommit:
            session.settled.append(message)
        }
        logger.warning("queue message failed", metadata: ["message": "\(message.messageId)", "receives": "\(message.receiveCount)",
                                                          "action": "\(action)", "error": "\(failure)"])
    }

    /// Extends every held message that has less than half of its visibility timeout left.
    func extendVisibility(_ session: inout Session, policy: CloudTrailQueuePolicy, report: inout RunReport) {
        let now = clock.now()
        let due = (session.waiting + session.inHand).filter { policy.needsExtension(visibleUntil: $0.visibleUntil, now: now) }
        guard !due.isEmpty else { return }
        let handles = due.map(\.message.receiptHandle)
        do {
            let failures = Set(try sqs.changeVisibility(receiptHandles: handles, seconds: policy.visibilitySeconds).map(\.receiptHandle))
            let until = now.addingTimeInterval(TimeInterval(policy.visibilitySeconds))
            for i in session.waiting.indices where handles.contains(session.waiting[i].message.receiptHandle) && !failures.contains(session.waiting[i].message.receiptHandle) {
                session.waiting[i].visibleUntil = until
            }
            for i in session.inHand.indices where handles.contains(session.inHand[i].message.receiptHandle) && !failures.contains(session.inHand[i].message.receiptHandle) {
                session.inHand[i].visibleUntil = until
            }
            report.add("visibility_extended", Int64(handles.count - failures.count))
            if !failures.isEmpty {
                logger.warning("visibility not extended; those messages may be handed to another fetcher (their files are then stored twice, indexed once)",
                               metadata: ["messages": "\(failures.count)"])
            }
        } catch {
            logger.warning("visibility not extended", metadata: ["error": "\(StageRunner.describe(error))"])
        }
    }

    /// Renames the open raw run into place, then deletes the messages that waited for it.
    func commit(_ session: inout Session, report: inout RunReport) throws {
        if !session.writer.isEmpty {
            let folder = try session.writer.commit(finishedAt: clock.now())
            report.add("runs")
            logger.info("raw run ready", metadata: ["run": "\(folder.lastPathComponent)", "files": "\(session.writer.count)",
                                                    "bytes": "\(session.writer.bytes)"])
            session.committedKeys.formUnion(session.openKeys)
            session.openKeys.removeAll()
            session.writer = try newWriter()
        }
        session.settled += session.waiting.map(\.message)
        session.waiting.removeAll()
        deleteSettled(&session, report: &report)
    }

    /// Commits the open run and deletes what is settled; messages still failing become errors of the run.
    func finish(_ session: inout Session, report: inout RunReport) throws {
        try commit(&session, report: &report)
        for (_, text) in session.failing.sorted(by: { $0.key < $1.key }) {
            report.addRetryLater(text)
        }
        session.failing.removeAll()
    }

    /// Deletes the settled messages. A message SQS does not delete comes back: its files are then stored again
    /// (and indexed once, by their events' ids).
    func deleteSettled(_ session: inout Session, report: inout RunReport) {
        let messages = session.settled
        session.settled.removeAll()
        guard !messages.isEmpty else { return }
        do {
            let failures = try sqs.delete(receiptHandles: messages.map(\.receiptHandle))
            report.add("messages_deleted", Int64(messages.count - failures.count))
            if !failures.isEmpty {
                report.add("messages_not_deleted", Int64(failures.count))
                logger.warning("messages not deleted; they come back and their files are stored again (indexed once)",
                               metadata: ["messages": "\(failures.count)", "code": "\(failures[0].code)", "reason": "\(failures[0].message)"])
            }
        } catch let error as AWSServiceError where !error.isRetryable {
            report.errors.append("\(error); \(messages.count) message(s) stay in the queue and their files are fetched again")
        } catch {
            report.addRetryLater("sqs DeleteMessageBatch of \(queue.url): \(StageRunner.describe(error)); "
                                 + "\(messages.count) message(s) stay in the queue and their files are fetched again")
        }
    }

    /// Writes a message's body to `quarantine/fetch/sqs-<message id>.json` and the reason beside it.
    func quarantine(_ message: SQSMessage, reason: String) throws -> String {
        let name = "sqs-\(Self.fileName(messageId: message.messageId)).json"
        let folder = layout.quarantine("fetch")
        try SpoolFiles.makeDirectory(folder)
        let url = folder.appendingPathComponent(name)
        try SpoolFiles.writeAtomically(Data(message.body.utf8), to: url)
        try SpoolFiles.writeAtomically(Data((reason + "\n").utf8), to: url.appendingPathExtension("reason"))
        return "quarantine/fetch/\(name)"
    }

    /// The message id when it is a safe file name (SQS ids are UUIDs), its SHA-256 otherwise.
    static func fileName(messageId: String) -> String {
        let safe = !messageId.isEmpty && messageId.count <= 128
            && messageId.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        return safe ? messageId : SHA256Hex.of(Data(messageId.utf8))
    }

    func newWriter() throws -> RawRunWriter {
        let now = clock.now()
        return try RawRunWriter(layout: layout, collector: CloudTrailFetcher.collector, runID: RunID(date: now), startedAt: now)
    }
}
