import Foundation

/// A queue's URL, `https://sqs.<region>.amazonaws.com/<account>/<name>` (or the
/// legacy `https://<region>.queue.amazonaws.com/…`, a VPC endpoint, an emulator).
public struct SQSQueueURL: Sendable, Equatable, CustomStringConvertible {
    /// The URL as configured.
    public let url: String
    /// `scheme://host[:port]`: where the queue's API answers when no endpoint override is set.
    public let base: String
    /// The account that owns the queue (the first path segment).
    public let account: String
    public let name: String
    /// The region named by an AWS host, nil for other hosts.
    public let region: String?
    /// Whether the host is one of AWS's own (then the regional endpoint is used).
    public let isAWSHost: Bool

    public var description: String { url }

    /// Parses a queue URL; nil when it is not `http(s)://host/<12-digit account>/<name>`.
    public init?(_ text: String) {
        let parts = URLParts.split(text)
        guard parts.scheme == "https" || parts.scheme == "http", !parts.authority.isEmpty, !parts.authority.contains("@"),
              parts.query.isEmpty else { return nil }
        let segments = parts.path.split(separator: "/", omittingEmptySubsequences: true)
        guard segments.count == 2, AccountID.isValid(segments[0]),
              segments[1].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }),
              segments[1].count <= 80 else { return nil }
        url = text
        base = "\(parts.scheme)://\(parts.authority)"
        account = String(segments[0])
        name = String(segments[1])
        let host = parts.authority.split(separator: ":").first.map(String.init)?.lowercased() ?? ""
        let labels = host.split(separator: ".").map(String.init)
        isAWSHost = host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn")
        if isAWSHost, labels.count >= 4, labels[0] == "sqs" {
            region = labels[1]                       // sqs.<region>.amazonaws.com
        } else if isAWSHost, labels.count >= 4, labels[1] == "queue" {
            region = labels[0]                       // <region>.queue.amazonaws.com
        } else {
            region = nil
        }
    }
}

/// One message handed out by `ReceiveMessage`.
public struct SQSMessage: Sendable, Equatable {
    public let messageId: String
    /// The handle of this receive: deleting or extending the message needs the latest one.
    public let receiptHandle: String
    public let body: String
    /// How many times SQS has handed the message out, this time included (`ApproximateReceiveCount`).
    public let receiveCount: Int

    public init(messageId: String, receiptHandle: String, body: String, receiveCount: Int) {
        self.messageId = messageId
        self.receiptHandle = receiptHandle
        self.body = body
        self.receiveCount = receiveCount
    }
}

/// The attributes of a queue that decide how its messages are handled.
public struct SQSQueueAttributes: Sendable, Equatable {
    /// The queue's own redrive policy: after `maxReceiveCount` receives SQS moves a message to the dead-letter queue.
    public struct Redrive: Sendable, Equatable {
        public let deadLetterTargetArn: String
        public let maxReceiveCount: Int
    }

    /// Seconds a received message stays invisible to other consumers.
    public let visibilityTimeout: Int
    public let redrive: Redrive?
    /// Messages waiting (`ApproximateNumberOfMessages`), when told.
    public let approximateMessages: Int?

    public init(visibilityTimeout: Int, redrive: Redrive?, approximateMessages: Int?) {
        self.visibilityTimeout = visibilityTimeout
        self.redrive = redrive
        self.approximateMessages = approximateMessages
    }

    /// From the `Attributes` map of `GetQueueAttributes` (all values are strings; `RedrivePolicy` is JSON text).
    public static func parse(_ attributes: [String: String], queue: String) throws -> SQSQueueAttributes {
        guard let text = attributes["VisibilityTimeout"], let visibility = Int(text), visibility >= 0 else {
            throw CloudspoolError(.aws, "sqs GetQueueAttributes of \(queue): no VisibilityTimeout in the answer")
        }
        var redrive: Redrive?
        if let policy = attributes["RedrivePolicy"], !policy.isEmpty {
            guard let json = try? JSONSerialization.jsonObject(with: Data(policy.utf8)) as? [String: Any],
                  let target = json["deadLetterTargetArn"] as? String,
                  let count = (json["maxReceiveCount"] as? Int) ?? (json["maxReceiveCount"] as? String).flatMap({ Int($0) }) else {
                throw CloudspoolError(.aws, "sqs GetQueueAttributes of \(queue): the RedrivePolicy is not readable: \(policy.prefix(300))")
            }
            redrive = Redrive(deadLetterTargetArn: target, maxReceiveCount: count)
        }
        return SQSQueueAttributes(visibilityTimeout: visibility, redrive: redrive,
                                  approximateMessages: attributes["ApproximateNumberOfMessages"].flatMap { Int($0) })
    }
}

/// An entry of a batch call (`DeleteMessageBatch`, `ChangeMessageVisibilityBatch`) that SQS did not apply.
public struct SQSBatchFailure: Sendable, Equatable {
    /// The receipt handle of the entry.
    public let receiptHandle: String
    public let code: String
    public let message: String
}
