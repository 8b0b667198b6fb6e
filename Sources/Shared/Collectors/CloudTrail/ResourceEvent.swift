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

    /// `members` as bytes, to find them in a record without making strings of its keys.
    private static let memberNames: [(name: String, bytes: [UInt8])] = members.sorted().map { ($0, Array($0.utf8)) }
    /// `nameMembers` and `idPrefixes` as bytes, for the same reason.
    private static let nameMemberBytes: [[UInt8]] = nameMembers.sorted().map { Array($0.utf8) }
    private static let idPrefixBytes: [[UInt8]] = idPrefixes.sorted().map { Array($0.utf8) }

    /// The members whose values are searched for resource ids.
    private static let idMembers = ["requestParameters", "responseElements"]

    /// The compact event of `record`, or nil when it names no resource.
    static func compact(_ record: JSONValue, account: String?, region: String?) -> JSONValue? {
        var ids = Set<String>()
        for member in idMembers {
            if let value = record[member] { collect(value, key: member, into: &ids) }
        }
        addResourceARNs(record["resources"], to: &ids)
        return event(ids: ids, record: record, account: account, region: region)
    }

    /// `compact` for a record still in bytes (`members` from `JSONObjectScanner`, first of each name
    /// counts, as `JSONValue`'s subscript), written to `out` as `compact(…)?.write(to:)` writes it:
    /// the ids are read from the bytes without building values, and the members the event keeps are
    /// copied as written when they are plain strings (the record is valid UTF-8 and was validated, so
    /// a string without an escape is already what `JSONText` would write). Returns whether it wrote.
    static func append(members: [JSONObjectScanner.Member], of bytes: UnsafeBufferPointer<UInt8>, account: String?, region: String?,
                       to out: inout [UInt8]) -> Bool {
        // The first member of each name in `memberNames`, by its place there; compared as bytes:
        // most of a record's members are none of these.
        var firsts = [JSONObjectScanner.Member?](repeating: nil, count: memberNames.count)
        for member in members {
            let key = UnsafeBufferPointer(rebasing: bytes[member.key])
            guard let slot = memberNames.firstIndex(where: { CloudTrailDocumentBuilder.equals(key, $0.bytes) }) else { continue }
            if firsts[slot] == nil { firsts[slot] = member }
        }
        var walker = IDWalker(p: bytes)
        for slot in [Slot.requestParameters, Slot.responseElements] {
            guard let member = firsts[slot] else { continue }
            walker.i = member.value.lowerBound
            walker.value(named: false)   // neither is one of `nameMembers`
        }
        var ids = walker.ids
        if let resources = firsts[Slot.resources] {
            addResourceARNs(try? JSONValueParser.parse(Array(bytes[resources.value])), to: &ids)
        }
        guard !ids.isEmpty, let eventID = firsts[Slot.eventID], eventID.kind == .string else { return false }
        let writer = ValueWriter(p: bytes)
        out.append(contentsOf: #"{"id":"#.utf8)
        writer.string(eventID.value, to: &out)
        out.append(contentsOf: #","name":"#.utf8)
        writer.value(firsts[Slot.eventName], or: nil, to: &out)
        out.append(contentsOf: #","time":"#.utf8)
        writer.value(firsts[Slot.eventTime], or: nil, to: &out)
        out.append(contentsOf: #","source":"#.utf8)
        writer.value(firsts[Slot.eventSource], or: nil, to: &out)
        out.append(contentsOf: #","user":"#.utf8)
        if let user = firsts[Slot.userIdentity].flatMap(writer.user) {
            writer.string(user, to: &out)
        } else {
            JSONText.appendString("unknown", to: &out)
        }
        out.append(contentsOf: #","account":"#.utf8)
        writer.value(firsts[Slot.recipientAccountId], or: account, to: &out)
        out.append(contentsOf: #","region":"#.utf8)
        writer.value(firsts[Slot.awsRegion], or: region, to: &out)
        out.append(contentsOf: #","resources":["#.utf8)
        for (n, id) in ids.sorted().enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendString(id, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        if let code = firsts[Slot.errorCode], code.kind == .string {
            out.append(contentsOf: #","error_code":"#.utf8)
            writer.string(code.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return true
    }

    /// Places in `memberNames` (sorted) of the members `append` reads.
    private enum Slot {
        static let awsRegion = place("awsRegion"), errorCode = place("errorCode"), eventID = place("eventID"),
                   eventName = place("eventName"), eventSource = place("eventSource"), eventTime = place("eventTime"),
                   recipientAccountId = place("recipientAccountId"), requestParameters = place("requestParameters"),
                   resources = place("resources"), responseElements = place("responseElements"), userIdentity = place("userIdentity")

        private static func place(_ name: String) -> Int { memberNames.firstIndex { $0.name == name }! }
    }

    /// Writes values of a record's bytes as `JSONValue.write` writes them once parsed.
    private struct ValueWriter {
        let p: UnsafeBufferPointer<UInt8>

        /// The string at `range` (with its quotes): as written unless it has an escape.
        func string(_ range: Range<Int>, to out: inout [UInt8]) {
            if memchr(p.baseAddress! + range.lowerBound, 92, range.count) == nil {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p[range]))
            } else {
                JSONText.appendString(ResourceEvent.text(p, range), to: &out)
            }
        }

        /// The member's value (any kind), else `fallback` as a string, else null.
        func value(_ member: JSONObjectScanner.Member?, or fallback: String?, to out: inout [UInt8]) {
            if let member {
                if member.kind == .string {
                    return string(member.value, to: &out)
                }
                if let value = try? JSONValueParser.parse(Array(p[member.value])) {
                    return value.write(to: &out)
                }
            }
            if let fallback {
                JSONText.appendString(fallback, to: &out)
            } else {
                out.append(contentsOf: "null".utf8)
            }
        }

        /// Who made the call, from `userIdentity` as `event(…)` picks it: the string range (in `p`)
        /// of the first of arn, userName, principalId, invokedBy that is a string.
        func user(_ identity: JSONObjectScanner.Member) -> Range<Int>? {
            guard identity.kind == .object,
                  let members = try? JSONObjectScanner.members(of: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: p[identity.value]))) else { return nil }
            let base = identity.value.lowerBound
            for name in ResourceEvent.userMembers {
                // The first member of that name counts, whatever its kind (as `JSONValue`'s subscript).
                guard let member = members.first(where: { key($0.key.lowerBound + base..<$0.key.upperBound + base, is: name) }) else { continue }
                if member.kind == .string { return member.value.lowerBound + base..<member.value.upperBound + base }
            }
            return nil
        }

        private func key(_ range: Range<Int>, is name: (text: String, bytes: [UInt8])) -> Bool {
            let key = UnsafeBufferPointer(rebasing: p[range])
            if key.count > 0, memchr(key.baseAddress!, 92, key.count) != nil {
                // A member's key range leaves out the quotes around it in the record.
                return ResourceEvent.text(p, (range.lowerBound - 1)..<(range.upperBound + 1)) == name.text
            }
            return CloudTrailDocumentBuilder.equals(key, name.bytes)
        }
    }

    /// The text of the JSON string at `range` of `p` (with its quotes), escapes decoded as
    /// `JSONValueParser` decodes them.
    private static func text(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        let inner = UnsafeBufferPointer(rebasing: p[(range.lowerBound + 1)..<(range.upperBound - 1)])
        if inner.isEmpty || memchr(inner.baseAddress!, 92, inner.count) == nil { return String(decoding: inner, as: UTF8.self) }
        return (try? JSONValueParser.parse(Array(p[range])))?.stringValue ?? ""
    }

    /// The members of `userIdentity` that name who made a call, in the order they are tried.
    private static let userMembers: [(text: String, bytes: [UInt8])] = ["arn", "userName", "principalId", "invokedBy"].map { ($0, Array($0.utf8)) }


    private static func addResourceARNs(_ resources: JSONValue?, to ids: inout Set<String>) {
        for resource in resources?.arrayValue ?? [] {
            if let arn = resource["ARN"]?.stringValue, let last = arn.split(whereSeparator: { $0 == "/" || $0 == ":" }).last {
                ids.insert(String(last))
            }
        }
    }

    /// The event written for `record` once its resource ids are known (nil when there are none).
    private static func event(ids: Set<String>, record: JSONValue, account: String?, region: String?) -> JSONValue? {
        guard !ids.isEmpty, let id = record["eventID"]?.stringValue else { return nil }
        let identity = record["userIdentity"]
        let user = userMembers.lazy.compactMap { identity?[$0.text]?.stringValue }.first ?? "unknown"
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

    /// Walks a JSON value's bytes (already validated by `JSONObjectScanner`) as `collect` walks
    /// its parsed value: a string is an id when its member's name is one of `nameMembers` or it looks
    /// like one; only those strings are decoded.
    private struct IDWalker {
        let p: UnsafeBufferPointer<UInt8>
        var i = 0
        var ids = Set<String>()

        init(p: UnsafeBufferPointer<UInt8>) { self.p = p }

        mutating func skipSpace() {
            while i < p.count, p[i] == 32 || p[i] == 10 || p[i] == 13 || p[i] == 9 { i += 1 }
        }

        mutating func value(named: Bool) {
            skipSpace()
            guard i < p.count else { return }
            switch p[i] {
            case 123:   // {
                i += 1
                while true {
                    skipSpace()
                    guard i < p.count else { return }
                    if p[i] == 125 { i += 1; return }
                    if p[i] == 44 { i += 1; continue }
                    let key = string()
                    skipSpace()
                    i += 1   // ':'
                    value(named: isNameMember(key))
                }
            case 91:    // [
                i += 1
                while true {
                    skipSpace()
                    guard i < p.count else { return }
                    if p[i] == 93 { i += 1; return }
                    if p[i] == 44 { i += 1; continue }
                    value(named: named)
                }
            case 34:
                let range = string()
                if named {
                    ids.insert(text(range))
                } else if let id = id(range) {
                    ids.insert(id)
                }
            default:    // a number, true, false or null
                while i < p.count, p[i] != 44, p[i] != 125, p[i] != 93, p[i] != 32, p[i] != 10, p[i] != 13, p[i] != 9 { i += 1 }
            }
        }

        /// The string at `i` with its quotes; leaves `i` after it.
        mutating func string() -> Range<Int> {
            let start = i
            i += 1
            while i < p.count {
                i = ByteScan.quoteOrBackslash(p.baseAddress!, from: i, end: p.count)
                guard i < p.count else { break }
                if p[i] == 92 { i += 2; continue }
                i += 1
                break
            }
            return start..<min(i, p.count)
        }

        func text(_ range: Range<Int>) -> String { ResourceEvent.text(p, range) }

        /// Whether the key string at `range` (with its quotes) is one of `nameMembers`: its bytes
        /// compared unless it has an escape.
        func isNameMember(_ range: Range<Int>) -> Bool {
            let inner = UnsafeBufferPointer(rebasing: p[(range.lowerBound + 1)..<max(range.lowerBound + 1, range.upperBound - 1)])
            if inner.count > 0, memchr(inner.baseAddress!, 92, inner.count) != nil { return nameMembers.contains(text(range)) }
            return nameMemberBytes.contains { CloudTrailDocumentBuilder.equals(inner, $0) }
        }

        /// The string at `range` (with its quotes) if `looksLikeID` holds for its text, decided on
        /// the bytes; a string with an escape, or a non-ASCII byte where it matters, is decoded and
        /// left to `looksLikeID` itself.
        func id(_ range: Range<Int>) -> String? {
            let start = range.lowerBound + 1, end = range.upperBound - 1
            guard end > start else { return nil }
            if memchr(p.baseAddress! + start, 92, end - start) != nil { return decodedID(range) }
            // The run of hex digits at the end, then the last dash.
            var k = end - 1
            var hex = 0
            while k >= start {
                let c = p[k]
                if (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) { hex += 1; k -= 1; continue }
                if c == 45 { break }
                // A non-ASCII byte may join the characters around it (a combining mark): Character rules decide.
                return c >= 0x80 ? decodedID(range) : nil
            }
            guard k >= start, (8...17).contains(hex) else { return nil }
            // A non-ASCII prefix is in no case one of the ASCII `idPrefixes`.
            let prefix = UnsafeBufferPointer(rebasing: p[start..<k])
            guard idPrefixBytes.contains(where: { CloudTrailDocumentBuilder.equals(prefix, $0) }) else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: p[start..<end]), as: UTF8.self)
        }

        private func decodedID(_ range: Range<Int>) -> String? {
            let candidate = text(range)
            return looksLikeID(candidate) ? candidate : nil
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
