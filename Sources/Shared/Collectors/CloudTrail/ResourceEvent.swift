import Foundation

/// A CloudTrail event that changed something, reduced to what the inventory's
/// change feed needs to link it to a resource: its id, name, time, who made
/// it, where, and the resource ids it names.
///
/// Written by the CloudTrail transform for every record with `readOnly:
/// false` into `state/resource-events/<raw run>.ndjson`; read back by the
/// inventory transform (`ResourceEventIndex`).
enum ResourceEvent {
    /// The event sources (quoted, as in the record) of the resources the change feed tracks.
    static let sources: [[UInt8]] = ["ec2.amazonaws.com", "rds.amazonaws.com", "monitoring.amazonaws.com", "backup.amazonaws.com"]
        .map { Array("\"\($0)\"".utf8) }
    /// The members of a record `compact` reads.
    static let members: Set<String> = ["eventID", "eventName", "eventTime", "eventSource", "userIdentity", "recipientAccountId",
                                       "awsRegion", "requestParameters", "responseElements", "resources", "errorCode"]

    /// Resource ids as EC2 writes them (`i-0abc…`, `sg-…`, `vol-…`).
    private static let idPrefixes: Set<String> = ["i", "sg", "sgr", "vol", "snap", "ami", "igw", "nat", "tgw", "eni", "subnet", "vpc",
                                                   "rtb", "acl", "eipalloc", "eipassoc", "lt", "vpce", "tgw-attach", "fs", "db"]
    /// Members that hold the names of resources that have no id of the form above (RDS, CloudWatch).
    private static let nameMembers: Set<String> = ["dBInstanceIdentifier", "dBSnapshotIdentifier", "alarmName", "alarmNames",
                                                    "groupName", "imageId", "snapshotId", "volumeId", "instanceId", "groupId"]

    /// The compact event of `record`, or nil when it names no resource.
    static func compact(_ record: JSONValue, account: String?, region: String?) -> JSONValue? {
        var ids = Set<String>()
        for member in ["requestParameters", "responseElements"] {
            if let value = record[member] { collect(value, key: member, into: &ids) }
        }
        for resource in record["resources"]?.arrayValue ?? [] {
            if let arn = resource["ARN"]?.stringValue, let last = arn.split(whereSeparator: { $0 == "/" || $0 == ":" }).last {
                ids.insert(String(last))
            }
        }
        guard !ids.isEmpty, let id = record["eventID"]?.stringValue else { return nil }
        let identity = record["userIdentity"]
        let user = identity?["arn"]?.stringValue ?? identity?["userName"]?.stringValue ?? identity?["principalId"]?.stringValue
            ?? identity?["invokedBy"]?.stringValue ?? "unknown"
        var members: [(String, JSONValue)] = [
            ("id", .string(id)),
            ("name", record["eventName"] ?? .null),
            ("time", record["eventTime"] ?? .null),
            ("source", record["eventSource"] ?? .null),
            ("user", .string(user)),
            ("account", record["recipientAccountId"] ?? account.map(JSONValue.string) ?? .null),
            ("region", record["awsRegion"] ?? region.map(JSONValue.string) ?? .null),
            ("resources", .array(ids.sorted().map(JSONValue.string))),
        ]
        if let code = record["errorCode"]?.stringValue { members.append(("error_code", .string(code))) }
        return .object(members)
    }

    private static func collect(_ value: JSONValue, key: String, into ids: inout Set<String>) {
        switch value {
        case .object(let members):
            for (name, member) in members { collect(member, key: name, into: &ids) }
        case .array(let items):
            for item in items { collect(item, key: key, into: &ids) }
        case .string(let text):
            if nameMembers.contains(key) || looksLikeID(text) { ids.insert(text) }
        default:
            break
        }
    }

    /// `i-0123abcd`, `sg-0123456789abcdef0`: a known prefix, a dash, 8 to 17 hex digits.
    static func looksLikeID(_ text: String) -> Bool {
        guard let dash = text.lastIndex(of: "-") else { return false }
        let hex = text[text.index(after: dash)...]
        guard (8...17).contains(hex.count), hex.allSatisfy(\.isHexDigit) else { return false }
        return idPrefixes.contains(String(text[..<dash]))
    }
}

/// The changing CloudTrail events the spool holds (`state/resource-events/`),
/// by the resource ids they name: what the inventory's change feed links each
/// change to. Built once per transform run; files older than the retention of
/// raw runs are removed by the CloudTrail transform.
final class ResourceEventIndex {
    private var byResource: [String: [JSONValue]] = [:]
    /// How far outside a change's window an event still explains it: CloudTrail
    /// times the call, the inventory times the start of its run.
    static let slackSeconds: TimeInterval = 300

    static func folder(_ layout: SpoolLayout) -> URL {
        layout.state.appendingPathComponent("resource-events", isDirectory: true)
    }

    init(layout: SpoolLayout) {
        let folder = Self.folder(layout)
        var seen = Set<String>()
        for name in SpoolFiles.list(folder) where name.hasSuffix(".ndjson") {
            guard let data = try? Data(contentsOf: folder.appendingPathComponent(name)) else { continue }
            for line in data.split(separator: 10) {
                guard let event = try? JSONValueParser.parse(Array(line)), let id = event["id"]?.stringValue, seen.insert(id).inserted else { continue }
                for resource in event["resources"]?.arrayValue ?? [] {
                    if let resource = resource.stringValue { byResource[resource, default: []].append(event) }
                }
            }
        }
    }

    /// An empty index (no CloudTrail in the spool).
    init() {}

    /// The events of `account`/`region` naming `resourceID` between `from` and `to` (ISO 8601), oldest first,
    /// as the change feed writes them: id, name, time, user, source (and error code of a failed call).
    func events(account: String, region: String, resourceID: String, from: String, to: String) -> [JSONValue] {
        guard let candidates = byResource[resourceID], let start = UTCDate.parseISO8601(from), let end = UTCDate.parseISO8601(to) else { return [] }
        let lower = start.addingTimeInterval(-Self.slackSeconds), upper = end.addingTimeInterval(Self.slackSeconds)
        return candidates.filter { event in
            guard event["account"]?.stringValue == account, event["region"]?.stringValue == region,
                  let time = event["time"]?.stringValue.flatMap(UTCDate.parseISO8601) else { return false }
            return time >= lower && time <= upper
        }
        .sorted { ($0["time"]?.stringValue ?? "") < ($1["time"]?.stringValue ?? "") }
        .map { event in
            var members: [(String, JSONValue)] = [("id", event["id"] ?? .null), ("name", event["name"] ?? .null), ("time", event["time"] ?? .null),
                                                  ("user", event["user"] ?? .null), ("source", event["source"] ?? .null)]
            if let code = event["error_code"] { members.append(("error_code", code)) }
            return .object(members)
        }
    }
}
