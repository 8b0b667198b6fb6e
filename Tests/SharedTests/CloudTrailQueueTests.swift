import Foundation
import Testing
@testable import Shared

private let key1 = "AWSLogs/o-a1b2c3d4e5/111111111111/CloudTrail/eu-west-1/2026/11/28/111111111111_CloudTrail_eu-west-1_20261128T1015Z_Zq3xP0aBcD1eF2gH.json.gz"
private let key2 = "AWSLogs/o-a1b2c3d4e5/222222222222/CloudTrail/us-east-1/2026/11/28/222222222222_CloudTrail_us-east-1_20261128T1020Z_Jk4LmN5oPq6RsT7u.json.gz"

private func fixture(_ name: String) throws -> String {
    try String(contentsOf: fixturesURL.appendingPathComponent("sqs/\(name)"), encoding: .utf8)
}

@Suite struct CloudTrailNotificationTests {
    typealias Object = CloudTrailNotification.Object

    @Test(arguments: [
        // S3 sends keys form-encoded: '+' is a space, %2B a plus sign; '/' stays (an emulator may send %2F)
        ("s3-event.json", CloudTrailNotification.objects([Object(bucket: "cloudtraillogs", key: "trail logs+x/" + key1)], .s3Event)),
        ("s3-event-slashes-encoded.json", .objects([Object(bucket: "cloudtraillogs", key: "trail logs+x/" + key1)], .s3Event)),
        ("s3-event-sns.json", .objects([Object(bucket: "cloudtraillogs", key: "trail logs+x/" + key1)], .s3EventThroughSNS)),
        // EventBridge and CloudTrail send keys as they are
        ("eventbridge.json", .objects([Object(bucket: "cloudtraillogs", key: "trail logs+x/" + key1)], .eventBridge)),
        ("cloudtrail-sns.json", .objects([Object(bucket: "cloudtraillogs", key: key1), Object(bucket: "cloudtraillogs", key: key2)], .cloudTrailThroughSNS)),
        ("cloudtrail-raw.json", .objects([Object(bucket: "cloudtraillogs", key: key2)], .cloudTrail)),
        ("test-event.json", .test),
        ("test-event-sns.json", .test),
        ("s3-event-removed.json", .nothing("S3 events of no new object: ObjectRemoved:Delete")),
        ("eventbridge-deleted.json", .nothing("an EventBridge S3 event 'Object Deleted'")),
        ("sns-subscription-confirmation.json", .nothing("an SNS SubscriptionConfirmation of arn:aws:sns:eu-west-1:222222222222:cloudtrail-logs (confirm a subscription by opening its SubscribeURL)")),
    ])
    func everyFormat(file: String, expected: CloudTrailNotification) throws {
        #expect(try CloudTrailNotification.parse(try fixture(file)) == expected)
    }

    @Test(arguments: [
        ("", "the message body is not JSON"),
        ("[1]", "the message body is not a JSON object"),
        (#"{"hello":"world"}"#, "not a message cloudspool knows (S3 event notification, directly or through SNS or EventBridge, CloudTrail notification, s3:TestEvent)"),
        (#"{"Type":"Notification","TopicArn":"t","Message":"not json"}"#, "the message body is not JSON"),
        (#"{"Type":"Notification","TopicArn":"t"}"#, "an SNS notification without a Message string"),
        (#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"}}}]}"#,
         "record 1 of the S3 event notification has no s3.bucket.name or s3.object.key"),
        (#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a%2"}}}]}"#,
         "record 1 of the S3 event notification has a key that is not URL-encoded UTF-8: a%2"),
        (#"{"Records":[{"eventSource":"aws:sqs","eventName":"x"}]}"#, "record 1 is not an S3 event (eventSource 'aws:sqs')"),
        (#"{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}"#, "an EventBridge event of 'aws.ec2', not of aws.s3"),
        (#"{"s3Bucket":"b","s3ObjectKey":[]}"#, "a CloudTrail notification without an s3ObjectKey list"),
        (#"{"s3Bucket":"b","s3ObjectKey":[1]}"#, "a CloudTrail notification whose s3ObjectKey list holds something else than keys"),
    ])
    func unreadableMessagesSayWhy(body: String, reason: String) {
        #expect(throws: CloudTrailNotification.Unreadable(reason: reason)) { try CloudTrailNotification.parse(body) }
    }

    @Test func formDecoding() {
        #expect(CloudTrailNotification.formDecode("a+b%2Bc%2Fd/e") == "a b+c/d/e")
        #expect(CloudTrailNotification.formDecode("%C3%A9t%C3%A9") == "été")
        #expect(CloudTrailNotification.formDecode("%e2%82%ac") == "€")
        #expect(CloudTrailNotification.formDecode("100%") == nil)
        #expect(CloudTrailNotification.formDecode("%zz") == nil)
        #expect(CloudTrailNotification.formDecode("%FF") == nil)   // not UTF-8
    }

    @Test func aMessageNamingAnObjectTwiceNamesItOnce() throws {
        let record = #"{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}"#
        let removed = #"{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"j"}}}"#
        #expect(try CloudTrailNotification.parse(#"{"Records":[\#(record),\#(removed),\#(record)]}"#) == .objects([Object(bucket: "b", key: "k")], .s3Event))
    }
}

@Suite struct SQSTypesTests {
    @Test func awsQueueURL() throws {
        let url = try #require(SQSQueueURL("https://sqs.eu-west-1.amazonaws.com/111111111111/cloudtrail-logs"))
        #expect(url.base == "https://sqs.eu-west-1.amazonaws.com")
        #expect(url.account == "111111111111")
        #expect(url.name == "cloudtrail-logs")
        #expect(url.region == "eu-west-1")
        #expect(url.isAWSHost)
        let legacy = try #require(SQSQueueURL("https://ap-south-1.queue.amazonaws.com/111111111111/q.fifo"))
        #expect(legacy.region == "ap-south-1")
        #expect(legacy.name == "q.fifo")
    }

    @Test func otherHosts() throws {
        let url = try #require(SQSQueueURL("http://127.0.0.1:4566/000000000000/trail"))
        #expect(url.base == "http://127.0.0.1:4566")
        #expect(url.region == nil)
        #expect(!url.isAWSHost)
        let vpce = try #require(SQSQueueURL("https://vpce-0123-abcd.sqs.eu-west-1.vpce.amazonaws.com/111111111111/trail"))
        #expect(vpce.isAWSHost)
        #expect(vpce.region == nil)
    }

    @Test(arguments: ["sqs.eu-west-1.amazonaws.com/111111111111/q", "https://sqs.eu-west-1.amazonaws.com/q",
                      "https://sqs.eu-west-1.amazonaws.com/1111/q", "https://sqs.eu-west-1.amazonaws.com/111111111111/q/x",
                      "https://user:secret@sqs.eu-west-1.amazonaws.com/111111111111/q", "https://sqs.eu-west-1.amazonaws.com/111111111111/q?x=1",
                      "ftp://h/111111111111/q", "https://h/111111111111/a b"])
    func notQueueURLs(text: String) {
        #expect(SQSQueueURL(text) == nil)
    }

    @Test func queueAttributes() throws {
        let attributes = try SQSQueueAttributes.parse([
            "VisibilityTimeout": "45", "ApproximateNumberOfMessages": "12",
            "RedrivePolicy": #"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:111111111111:trail-dlq","maxReceiveCount":4}"#,
        ], queue: "q")
        #expect(attributes == SQSQueueAttributes(visibilityTimeout: 45,
                                                 redrive: .init(deadLetterTargetArn: "arn:aws:sqs:eu-west-1:111111111111:trail-dlq", maxReceiveCount: 4),
                                                 approximateMessages: 12))
        // Some endpoints give maxReceiveCount as a string.
        let text = try SQSQueueAttributes.parse(["VisibilityTimeout": "30", "RedrivePolicy": #"{"deadLetterTargetArn":"a","maxReceiveCount":"7"}"#], queue: "q")
        #expect(text.redrive?.maxReceiveCount == 7)
        #expect(try SQSQueueAttributes.parse(["VisibilityTimeout": "0"], queue: "q") == SQSQueueAttributes(visibilityTimeout: 0, redrive: nil, approximateMessages: nil))
        #expect(throws: CloudspoolError.self) { try SQSQueueAttributes.parse([:], queue: "q") }
        #expect(throws: CloudspoolError.self) { try SQSQueueAttributes.parse(["VisibilityTimeout": "30", "RedrivePolicy": "{"], queue: "q") }
    }
}

@Suite struct CloudTrailQueuePolicyTests {
    let own = CloudTrailQueuePolicy(maxReceives: 3, redrive: nil, visibilitySeconds: 60)
    let redriven = CloudTrailQueuePolicy(maxReceives: 3, redrive: .init(deadLetterTargetArn: "arn:aws:sqs:eu-west-1:111111111111:dlq", maxReceiveCount: 5),
                                         visibilitySeconds: 60)

    @Test func aMessageIsDeletedOnlyWhenNothingOfItWaits() {
        for receives in [1, 3, 9] {
            #expect(own.action(for: .settled, receiveCount: receives) == .delete)
            #expect(own.action(for: .inOpenRun, receiveCount: receives) == .deleteAfterCommit)
            #expect(redriven.action(for: .inOpenRun, receiveCount: receives) == .deleteAfterCommit)
        }
    }

    @Test func withoutRedrivePolicyAFailingMessageIsQuarantinedAfterMaxReceives() {
        #expect(own.action(for: .failed("x"), receiveCount: 1) == .retryLater)
        #expect(own.action(for: .failed("x"), receiveCount: 2) == .retryLater)
        #expect(own.action(for: .failed("x"), receiveCount: 3) == .quarantineAndDelete)
        #expect(own.action(for: .failed("x"), receiveCount: 4) == .quarantineAndDelete)
    }

    @Test func withARedrivePolicyTheDeadLetterQueueTakesIt() {
        #expect(redriven.action(for: .failed("x"), receiveCount: 3) == .retryLater)
        #expect(redriven.action(for: .failed("x"), receiveCount: 4) == .retryLater)
        #expect(redriven.action(for: .failed("x"), receiveCount: 5) == .quarantineCopyForDeadLetterQueue)
    }

    @Test func visibilityIsExtendedWhenLessThanHalfIsLeft() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(!own.needsExtension(visibleUntil: now.addingTimeInterval(31), now: now))
        #expect(!own.needsExtension(visibleUntil: now.addingTimeInterval(30), now: now))
        #expect(own.needsExtension(visibleUntil: now.addingTimeInterval(29.9), now: now))
        #expect(own.needsExtension(visibleUntil: now.addingTimeInterval(-5), now: now))
    }

    @Test func quarantineFileNames() {
        #expect(CloudTrailQueueFetcher.fileName(messageId: "5fea7756-0ea4-451a-a703-a558b933e274") == "5fea7756-0ea4-451a-a703-a558b933e274")
        #expect(CloudTrailQueueFetcher.fileName(messageId: "../x") == SHA256Hex.of(Data("../x".utf8)))
        #expect(CloudTrailQueueFetcher.fileName(messageId: "") == SHA256Hex.of(Data()))
    }
}

@Suite struct CloudTrailQueueSettingsTests {
    let today = UTCDate.parseDay("2026-11-28")!

    @Test func defaults() throws {
        let config = try CloudspoolConfig.parse(yaml: "spool: /s\ncloudtrail: {bucket: b, queue_url: 'https://sqs.eu-west-1.amazonaws.com/111111111111/trail'}\n",
                                                file: "c.yaml", today: today)
        let queue = try #require(try config.requireCloudTrail().queue)
        #expect(queue.url.name == "trail")
        #expect(queue.maxSeconds == 240)
        #expect(queue.maxReceives == 5)
        #expect(queue.waitSeconds == 20)
    }

    @Test func listingModeHasNoQueue() throws {
        let config = try CloudspoolConfig.parse(yaml: "spool: /s\ncloudtrail: {bucket: b}\n", file: "c.yaml", today: today)
        #expect(try config.requireCloudTrail().queue == nil)
    }

    @Test(arguments: [
        ("cloudtrail: {bucket: b, queue_url: 'sqs://x'}", "c.yaml: key 'cloudtrail.queue_url' must be an SQS queue URL like https://sqs.eu-west-1.amazonaws.com/111111111111/cloudtrail-logs, not 'sqs://x'"),
        ("cloudtrail: {bucket: b, queue_max_receives: 3}", "c.yaml: key 'cloudtrail.queue_max_receives' only applies with cloudtrail.queue_url (queue mode)"),
        ("cloudtrail: {bucket: b, queue_url: 'https://sqs.eu-west-1.amazonaws.com/111111111111/t', queue_wait_seconds: 21}",
         "c.yaml: key 'cloudtrail.queue_wait_seconds' must be between 0 and 20, not 21"),
        ("cloudtrail: {bucket: b, queue_url: 'https://sqs.eu-west-1.amazonaws.com/111111111111/t', queue_max_receives: 0}",
         "c.yaml: key 'cloudtrail.queue_max_receives' must be between 1 and 1000, not 0"),
    ])
    func errors(section: String, message: String) {
        let error = #expect(throws: CloudspoolError.self) { try CloudspoolConfig.parse(yaml: "spool: /s\n\(section)\n", file: "c.yaml", today: today) }
        #expect(error?.message == message)
    }
}

/// `SQSClient` against moto_server: the JSON protocol calls a queue consumer makes.
@Suite(.serialized) struct SQSClientTests {
    @Test func receiveExtendDeleteAndAttributes() throws {
        let moto = try LoopbackPeer.moto()
        let credentials = StaticCredentialProvider(name: "test", credentials: AWSCredentials(accessKeyId: "testing", secretAccessKey: "testing", sessionToken: nil))
        let admin = AWSClient(service: .sqs, region: "eu-west-1", endpoint: moto.url, credentials: credentials, http: try HTTPClient(),
                              retry: RetryPolicy(maxRetries: 1), logger: silentLogger)
        func create(_ name: String, _ attributes: [String: String]) throws -> String {
            let answer = try admin.json(target: "AmazonSQS.CreateQueue", operation: "CreateQueue", body: ["QueueName": name, "Attributes": attributes], version: "1.0")
            return try #require((try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["QueueUrl"] as? String)
        }
        let dlq = try create("trail-dlq", [:])
        let queueURL = try create("trail", ["VisibilityTimeout": "7",
                                            "RedrivePolicy": #"{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:123456789012:trail-dlq","maxReceiveCount":"3"}"#])
        #expect(!dlq.isEmpty)
        let queue = try #require(SQSQueueURL(queueURL))
        let sqs = SQSClient(queue: queue, region: "eu-west-1", credentials: credentials, http: try HTTPClient(), retry: RetryPolicy(maxRetries: 1),
                            endpoints: AWSEndpointResolver(environment: ["AWS_ENDPOINT_URL": moto.url]), logger: silentLogger)
        let attributes = try sqs.attributes()
        #expect(attributes == SQSQueueAttributes(visibilityTimeout: 7,
                                                 redrive: .init(deadLetterTargetArn: "arn:aws:sqs:eu-west-1:123456789012:trail-dlq", maxReceiveCount: 3),
                                                 approximateMessages: 0))
        #expect(try sqs.receive(waitSeconds: 0).isEmpty)
        for n in 0..<12 {
            _ = try admin.json(target: "AmazonSQS.SendMessage", operation: "SendMessage", body: ["QueueUrl": queueURL, "MessageBody": "{\"n\":\(n)}"], version: "1.0")
        }
        var received: [SQSMessage] = []
        while received.count < 12 {
            let batch = try sqs.receive(waitSeconds: 1)
            #expect(!batch.isEmpty && batch.count <= 10)
            received += batch
        }
        #expect(Set(received.map(\.body)) == Set((0..<12).map { "{\"n\":\($0)}" }))
        #expect(received.allSatisfy { $0.receiveCount == 1 })
        #expect(try sqs.changeVisibility(receiptHandles: received.map(\.receiptHandle), seconds: 30).isEmpty)
        let failures = try sqs.delete(receiptHandles: received.map(\.receiptHandle) + ["not-a-receipt-handle"])
        #expect(failures.map(\.receiptHandle) == ["not-a-receipt-handle"])
        #expect(try sqs.receive(waitSeconds: 0).isEmpty)
    }
}
