import Foundation
import Logging

/// The SQS calls a queue consumer needs, over `AWSClient` with the JSON
/// protocol (`application/x-amz-json-1.0`, `X-Amz-Target: AmazonSQS.<Operation>`),
/// which is what current SDKs speak to SQS.
///
/// The endpoint is `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL` when set, the
/// regional endpoint for a queue on an AWS host, and otherwise the queue
/// URL's own host (a VPC endpoint, an emulator).
public final class SQSClient {
    /// Most messages one `ReceiveMessage` may return, and most entries of a batch call.
    public static let batchLimit = 10
    /// The longest long poll SQS allows.
    public static let maxWaitSeconds = 20

    public let queue: SQSQueueURL
    let client: AWSClient

    public init(queue: SQSQueueURL, region: String, credentials: any CredentialProvider, http: HTTPClient, retry: RetryPolicy,
                endpoints: AWSEndpointResolver, clock: RuntimeClock = .system, logger: Logger) {
        let endpoint = endpoints.override(for: .sqs) ?? (queue.isAWSHost ? endpoints.endpoint(for: .sqs, region: region) : queue.base)
        self.queue = queue
        self.client = AWSClient(service: .sqs, region: region, account: queue.account, endpoint: endpoint,
                                credentials: credentials, http: http, retry: retry, clock: clock, logger: logger)
    }

    /// One call on the queue: `QueueUrl` is added to `body`; the answer's JSON object is returned.
    func call(_ operation: String, _ body: [String: Any]) throws -> [String: Any] {
        var body = body
        body["QueueUrl"] = queue.url
        let response = try client.json(target: "AmazonSQS.\(operation)", operation: operation, body: body, version: "1.0")
        if response.body.isEmpty { return [:] }
        guard let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] else {
            throw CloudspoolError(.aws, "sqs \(operation) of \(queue): the answer is not a JSON object")
        }
        return object
    }

    /// `GetQueueAttributes`: visibility timeout, redrive policy, messages waiting.
    public func attributes() throws -> SQSQueueAttributes {
        let answer = try call("GetQueueAttributes", ["AttributeNames": ["VisibilityTimeout", "RedrivePolicy", "ApproximateNumberOfMessages"]])
        var attributes: [String: String] = [:]
        for (name, value) in answer["Attributes"] as? [String: Any] ?? [:] {
            attributes[name] = value as? String ?? (value as? Int).map(String.init)
        }
        return try SQSQueueAttributes.parse(attributes, queue: queue.url)
    }

    /// `ReceiveMessage`: up to `maxMessages` messages, waiting up to `waitSeconds`
    /// for the first one (long polling), each with its receive count.
    public func receive(maxMessages: Int = batchLimit, waitSeconds: Int, visibilityTimeout: Int? = nil) throws -> [SQSMessage] {
        var body: [String: Any] = [
            "MaxNumberOfMessages": min(max(maxMessages, 1), Self.batchLimit),
            "WaitTimeSeconds": min(max(waitSeconds, 0), Self.maxWaitSeconds),
            // The current name, and the older one that some endpoints still read.
            "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
            "AttributeNames": ["ApproximateReceiveCount"],
        ]
        if let visibilityTimeout { body["VisibilityTimeout"] = visibilityTimeout }
        let answer = try call("ReceiveMessage", body)
        return try (answer["Messages"] as? [[String: Any]] ?? []).map { item in
            guard let id = item["MessageId"] as? String, let handle = item["ReceiptHandle"] as? String else {
                throw CloudspoolError(.aws, "sqs ReceiveMessage of \(queue): a message without MessageId or ReceiptHandle")
            }
            let attributes = item["Attributes"] as? [String: Any] ?? [:]
            let count = (attributes["ApproximateReceiveCount"] as? String).flatMap { Int($0) } ?? 1
            return SQSMessage(messageId: id, receiptHandle: handle, body: item["Body"] as? String ?? "", receiveCount: count)
        }
    }

    /// `ChangeMessageVisibilityBatch`: the messages stay invisible `seconds` from now. Returns the entries SQS refused.
    public func changeVisibility(receiptHandles: [String], seconds: Int) throws -> [SQSBatchFailure] {
        try batches(receiptHandles) { entries in
            try call("ChangeMessageVisibilityBatch", ["Entries": entries.map { ["Id": $0.id, "ReceiptHandle": $0.handle, "VisibilityTimeout": seconds] }])
        }
    }

    /// `DeleteMessageBatch`. Returns the entries SQS refused.
    public func delete(receiptHandles: [String]) throws -> [SQSBatchFailure] {
        try batches(receiptHandles) { entries in
            try call("DeleteMessageBatch", ["Entries": entries.map { ["Id": $0.id, "ReceiptHandle": $0.handle] }])
        }
    }

    /// Runs a batch call per `batchLimit` handles and collects the failed entries.
    func batches(_ handles: [String], _ send: ([(id: String, handle: String)]) throws -> [String: Any]) throws -> [SQSBatchFailure] {
        var failures: [SQSBatchFailure] = []
        var start = 0
        while start < handles.count {
            let slice = Array(handles[start..<min(start + Self.batchLimit, handles.count)])
            let entries = slice.enumerated().map { (id: "m\($0.offset)", handle: $0.element) }
            let answer = try send(entries)
            for failed in answer["Failed"] as? [[String: Any]] ?? [] {
                guard let id = failed["Id"] as? String, let entry = entries.first(where: { $0.id == id }) else { continue }
                failures.append(SQSBatchFailure(receiptHandle: entry.handle, code: failed["Code"] as? String ?? "",
                                                message: failed["Message"] as? String ?? ""))
            }
            start += Self.batchLimit
        }
        return failures
    }
}

extension AWSAccess {
    /// An SQS client for `queue`, in the queue's region (from its host) or `region`.
    public func sqs(queue: SQSQueueURL, region: String? = nil) throws -> SQSClient {
        SQSClient(queue: queue, region: queue.region ?? region ?? settings.region, credentials: credentials,
                  http: try HTTPClient(configuration: http), retry: retry, endpoints: endpoints, clock: clock, logger: logger)
    }
}
