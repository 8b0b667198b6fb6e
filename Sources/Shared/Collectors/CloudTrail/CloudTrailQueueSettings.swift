import Foundation

/// Queue mode of the `cloudtrail` section: an SQS queue announces new log
/// files (S3 event notifications, directly or through SNS or EventBridge, or
/// CloudTrail's SNS notifications) and fetch reads it instead of listing the bucket.
public struct CloudTrailQueueSettings: Sendable, Equatable {
    /// `cloudtrail.queue_url`.
    public let url: SQSQueueURL
    /// `cloudtrail.queue_max_seconds`: a run stops receiving after this long (so cron runs do not overlap).
    public let maxSeconds: Int
    /// `cloudtrail.queue_max_receives`: a message that still fails after this many receives is quarantined
    /// and deleted (unless the queue has a redrive policy, which then decides).
    public let maxReceives: Int
    /// `cloudtrail.queue_wait_seconds`: how long one receive waits for a message (long polling); a receive
    /// that waited this long for nothing ends the run.
    public let waitSeconds: Int

    static let keys = ["queue_max_seconds", "queue_max_receives", "queue_wait_seconds"]

    /// Reads the queue keys of the `cloudtrail` section; nil without `queue_url`.
    static func read(_ reader: inout ConfigNodeReader) throws -> CloudTrailQueueSettings? {
        guard let text = try reader.string("queue_url") else {
            for key in keys where reader.isPresent(key) {
                throw reader.error(key, "only applies with cloudtrail.queue_url (queue mode)")
            }
            return nil
        }
        guard let url = SQSQueueURL(text) else {
            throw reader.error("queue_url", "must be an SQS queue URL like https://sqs.eu-west-1.amazonaws.com/111111111111/cloudtrail-logs, not '\(text)'")
        }
        return CloudTrailQueueSettings(
            url: url,
            maxSeconds: try reader.int("queue_max_seconds", default: 240, range: 1...86_400),
            maxReceives: try reader.int("queue_max_receives", default: 5, range: 1...1000),
            waitSeconds: try reader.int("queue_wait_seconds", default: 20, range: 0...SQSClient.maxWaitSeconds))
    }
}
