import Foundation

/// What a message of the trail's queue says: the objects it names, or that it
/// is a test, or that it names nothing to fetch.
///
/// The formats that reach such a queue, each read here:
///
/// * an S3 event notification sent to the queue directly: `{"Records":[{"eventSource":"aws:s3",
///   "eventName":"ObjectCreated:Put","s3":{"bucket":{"name":…},"object":{"key":…}}}]}`, keys
///   URL-encoded as a form value (`+` for a space; S3 leaves `/` as it is, emulators may send `%2F`);
/// * the same through SNS: `{"Type":"Notification","Message":"<the S3 event as a JSON string>",…}`
///   (with raw message delivery the queue gets the S3 event itself);
/// * through EventBridge: `{"source":"aws.s3","detail-type":"Object Created",
///   "detail":{"bucket":{"name":…},"object":{"key":…}}}`, keys as they are;
/// * CloudTrail's own SNS notification: `{"s3Bucket":…,"s3ObjectKey":[…]}` (inside an SNS
///   envelope, or raw), keys as they are;
/// * `{"Service":"Amazon S3","Event":"s3:TestEvent",…}`, which S3 sends when the
///   notification is configured (also through SNS).
public enum CloudTrailNotification: Sendable, Equatable {
    /// An object a message names.
    public struct Object: Sendable, Equatable, Hashable {
        public let bucket: String
        /// The key, decoded.
        public let key: String

        public init(bucket: String, key: String) {
            self.bucket = bucket
            self.key = key
        }
    }

    /// Where a message came from.
    public enum Format: String, Sendable, Equatable {
        case s3Event = "S3 event notification"
        case s3EventThroughSNS = "S3 event notification through SNS"
        case eventBridge = "EventBridge S3 event"
        case cloudTrail = "CloudTrail notification"
        case cloudTrailThroughSNS = "CloudTrail notification through SNS"
    }

    /// New objects to fetch (in the message's order, each once).
    case objects([Object], Format)
    /// S3's `s3:TestEvent`: nothing to fetch.
    case test
    /// A message of a known kind that names nothing to fetch (an object removed, tags changed, an SNS
    /// subscription confirmation): why.
    case nothing(String)

    /// Why a message body cannot be read.
    public struct Unreadable: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Reads a message body.
    public static func parse(_ body: String) throws(Unreadable) -> CloudTrailNotification {
        try parse(body, throughSNS: false)
    }

    static func parse(_ body: String, throughSNS: Bool) throws(Unreadable) -> CloudTrailNotification {
        guard let any = try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) else {
            throw Unreadable(reason: "the message body is not JSON")
        }
        guard let json = any as? [String: Any] else {
            throw Unreadable(reason: "the message body is not a JSON object")
        }
        // SNS envelope
        if let type = json["Type"] as? String, json["TopicArn"] != nil || json["Message"] != nil {
            guard !throughSNS else { throw Unreadable(reason: "an SNS notification inside an SNS notification") }
            switch type {
            case "Notification":
                guard let message = json["Message"] as? String else {
                    throw Unreadable(reason: "an SNS notification without a Message string")
                }
                return try parse(message, throughSNS: true)
            case "SubscriptionConfirmation", "UnsubscribeConfirmation":
                return .nothing("an SNS \(type) of \(json["TopicArn"] as? String ?? "a topic") (confirm a subscription by opening its SubscribeURL)")
            default:
                throw Unreadable(reason: "an SNS message of type '\(type)'")
            }
        }
        if json["Event"] as? String == "s3:TestEvent" {
            return .test
        }
        if let records = json["Records"] {
            return try s3Event(records, format: throughSNS ? .s3EventThroughSNS : .s3Event)
        }
        if let source = json["source"] as? String, json["detail-type"] != nil {
            return try eventBridge(json, source: source)
        }
        if let bucket = json["s3Bucket"] as? String {
            guard let keys = json["s3ObjectKey"] as? [Any], !keys.isEmpty else {
                throw Unreadable(reason: "a CloudTrail notification without an s3ObjectKey list")
            }
            var objects: [Object] = []
            for key in keys {
                guard let key = key as? String, !key.isEmpty else {
                    throw Unreadable(reason: "a CloudTrail notification whose s3ObjectKey list holds something else than keys")
                }
                objects.append(Object(bucket: bucket, key: key))
            }
            return .objects(unique(objects), throughSNS ? .cloudTrailThroughSNS : .cloudTrail)
        }
        throw Unreadable(reason: "not a message cloudspool knows (S3 event notification, directly or through SNS or EventBridge, "
                         + "CloudTrail notification, s3:TestEvent)")
    }

    static func s3Event(_ records: Any, format: Format) throws(Unreadable) -> CloudTrailNotification {
        guard let records = records as? [Any] else {
            throw Unreadable(reason: "an S3 event notification whose Records is not a list")
        }
        var objects: [Object] = []
        var others: [String] = []
        for (n, item) in records.enumerated() {
            guard let record = item as? [String: Any] else {
                throw Unreadable(reason: "record \(n + 1) of the S3 event notification is not an object")
            }
            let name = record["eventName"] as? String ?? ""
            guard record["eventSource"] as? String == "aws:s3" else {
                throw Unreadable(reason: "record \(n + 1) is not an S3 event (eventSource '\(record["eventSource"] as? String ?? "")')")
            }
            guard name.hasPrefix("ObjectCreated:") else {
                others.append(name.isEmpty ? "an event without a name" : name)
                continue
            }
            let s3 = record["s3"] as? [String: Any]
            guard let bucket = (s3?["bucket"] as? [String: Any])?["name"] as? String, !bucket.isEmpty,
                  let encoded = (s3?["object"] as? [String: Any])?["key"] as? String, !encoded.isEmpty else {
                throw Unreadable(reason: "record \(n + 1) of the S3 event notification has no s3.bucket.name or s3.object.key")
            }
            guard let key = formDecode(encoded) else {
                throw Unreadable(reason: "record \(n + 1) of the S3 event notification has a key that is not URL-encoded UTF-8: \(encoded.prefix(300))")
            }
            objects.append(Object(bucket: bucket, key: key))
        }
        if objects.isEmpty {
            return .nothing(others.isEmpty ? "an S3 event notification without records" : "S3 events of no new object: \(Set(others).sorted().joined(separator: ", "))")
        }
        return .objects(unique(objects), format)
    }

    static func eventBridge(_ json: [String: Any], source: String) throws(Unreadable) -> CloudTrailNotification {
        let type = json["detail-type"] as? String ?? ""
        guard source == "aws.s3" else {
            throw Unreadable(reason: "an EventBridge event of '\(source)', not of aws.s3")
        }
        guard type == "Object Created" else {
            return .nothing("an EventBridge S3 event '\(type)'")
        }
        let detail = json["detail"] as? [String: Any]
        guard let bucket = (detail?["bucket"] as? [String: Any])?["name"] as? String, !bucket.isEmpty,
              let key = (detail?["object"] as? [String: Any])?["key"] as? String, !key.isEmpty else {
            throw Unreadable(reason: "an EventBridge S3 event without detail.bucket.name or detail.object.key")
        }
        return .objects([Object(bucket: bucket, key: key)], .eventBridge)
    }

    /// Decodes a form-encoded value: `+` is a space, `%XX` a byte. Nil when the bytes are not UTF-8
    /// or a `%` starts no escape.
    public static func formDecode(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 65...70: return c - 55
            case 97...102: return c - 87
            default: return nil
            }
        }
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
                i += 1
            case UInt8(ascii: "%"):
                guard i + 2 < bytes.count, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            default:
                out.append(bytes[i])
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    static func unique(_ objects: [Object]) -> [Object] {
        var seen = Set<Object>()
        return objects.filter { seen.insert($0).inserted }
    }
}
