import Foundation

/// The decisions of queue mode, apart from any I/O: what becomes of a message
/// once it was handled, and when the visibility of a message still held must
/// be extended.
///
/// * A message is deleted only once every object it names is in a raw run that
///   was renamed into place; a message naming nothing to fetch (a test event,
///   objects of another bucket, digests) is deleted at once.
/// * A message that failed for good (unreadable, or an object that cannot be
///   read: missing, access denied) stays in the queue and comes back after its
///   visibility timeout. Without a redrive policy, once it was received
///   `maxReceives` times it is put in quarantine (its body and the reason) and
///   deleted. With a redrive policy the queue's dead-letter queue takes it: it
///   is never deleted, and on its last receive before SQS moves it a copy is
///   put in quarantine with the reason.
/// * A failure that may pass (S3 unreachable, throttled after every retry)
///   never counts towards quarantine: the run stops and the message comes back.
public struct CloudTrailQueuePolicy: Sendable, Equatable {
    /// Receives after which a failing message is quarantined (`cloudtrail.queue_max_receives`).
    public let maxReceives: Int
    /// The queue's own redrive policy.
    public let redrive: SQSQueueAttributes.Redrive?
    /// Seconds a received message stays invisible (the queue's visibility timeout).
    public let visibilitySeconds: Int

    public init(maxReceives: Int, redrive: SQSQueueAttributes.Redrive?, visibilitySeconds: Int) {
        self.maxReceives = maxReceives
        self.redrive = redrive
        self.visibilitySeconds = visibilitySeconds
    }

    /// How handling a message ended.
    public enum Outcome: Sendable, Equatable {
        /// Nothing of it is left to fetch, and nothing it named waits in the open raw run.
        case settled
        /// Objects it names are in the raw run being filled.
        case inOpenRun
        /// It failed for good: unreadable, or an object cannot be read.
        case failed(String)
    }

    /// What to do with a message.
    public enum Action: Sendable, Equatable {
        case delete
        /// Delete it once the open raw run is renamed into place.
        case deleteAfterCommit
        /// Leave it in the queue: it comes back after its visibility timeout.
        case retryLater
        /// Write its body and the reason to quarantine, then delete it.
        case quarantineAndDelete
        /// Write its body and the reason to quarantine, and leave it to the queue's dead-letter queue.
        case quarantineCopyForDeadLetterQueue
    }

    public func action(for outcome: Outcome, receiveCount: Int) -> Action {
        switch outcome {
        case .settled: return .delete
        case .inOpenRun: return .deleteAfterCommit
        case .failed:
            if let redrive {
                return receiveCount >= redrive.maxReceiveCount ? .quarantineCopyForDeadLetterQueue : .retryLater
            }
            return receiveCount >= maxReceives ? .quarantineAndDelete : .retryLater
        }
    }

    /// Whether a message invisible until `visibleUntil` must be extended at `now`: when less than half of its
    /// visibility timeout is left.
    public func needsExtension(visibleUntil: Date, now: Date) -> Bool {
        visibleUntil.timeIntervalSince(now) < Double(visibilitySeconds) / 2
    }
}
