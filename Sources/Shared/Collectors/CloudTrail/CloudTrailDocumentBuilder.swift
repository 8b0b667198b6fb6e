/// Turns one CloudTrail record (its raw JSON bytes) into one `_bulk` action
/// line and document line.
///
/// The record's own members are copied through byte for byte, as CloudTrail
/// wrote them; in front of them go `@timestamp` (the event's time, UTC),
/// `cloud` (provider, account, region) and `cloudspool` (the free-form parts
/// as searchable text, the log file's key). The action names the daily index
/// of the event's own UTC day and uses `eventID` as the document id.
public struct CloudTrailDocumentBuilder: Sendable {
    /// The members whose shape changes from event to event: kept in `_source`,
    /// not mapped as fields (see the index template), searchable through
    /// `cloudspool.payload_text`.
    public static let freeFormMembers: [String] = [
        "requestParameters", "responseElements", "additionalEventData", "serviceEventDetails",
        "insightDetails", "edgeDeviceDetails",
    ]
    private static let freeFormKeys: [[UInt8]] = freeFormMembers.map { Array($0.utf8) }
    /// Bit n set when a free-form member's name is n bytes long (a key of another length is not compared).
    private static let freeFormLengths: UInt64 = freeFormKeys.reduce(0) { $0 | (1 << UInt64($1.count)) }

    /// The years of an eventTime (in UTC) that are indexed; others are rejected at transform, not at the index.
    public static let acceptedYears = 1970...9999

    /// Longest `payload_text` kept (the full parts stay in `_source`).
    public static let maxPayloadText = 256 * 1024

    /// The index name before the date (`awscli-trail`, with any prefix).
    public let indexStem: String

    public init(indexStem: String) {
        self.indexStem = indexStem
    }

    /// Why a record was rejected.
    public struct Rejection: Error, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Appends the action line and the document line for `record` to `out`.
    /// `account`/`region` come from the file's key and stand in for a record without its own.
    public func append(record: UnsafeRawBufferPointer, fileKey: String, account: String?, region: String?, to out: inout [UInt8]) throws(Rejection) {
        var unused: [UInt8] = []
        try append(record: record, fileKey: fileKey, account: account, region: region, to: &out, resourceEvents: &unused)
    }

    /// As above; a record that changed something (`readOnly: false`) and names
    /// resources also adds its `ResourceEvent` line to `resourceEvents`.
    /// `provenance` (from `provenance(runID:rawFile:)`, made once per file) goes
    /// into `cloudspool` after the log file's key.
    public func append(record: UnsafeRawBufferPointer, fileKey: String, account: String?, region: String?, provenance: [UInt8] = [],
                       to out: inout [UInt8], resourceEvents: inout [UInt8]) throws(Rejection) {
        var scratch = Scratch()
        try append(record: record, fileKey: fileKey, account: account, region: region, provenance: provenance, to: &out,
                   resourceEvents: &resourceEvents, scratch: &scratch)
    }

    /// Working storage `append` reuses from one record to the next (one per file being transformed).
    public struct Scratch {
        var members: [JSONObjectScanner.Member] = []
        var freeForm: [JSONObjectScanner.Member] = []
        /// The log file's key as a JSON string, made once per file rather than once per record.
        var fileKey: String?
        var fileKeyJSON: [UInt8] = []
        public init() {}
    }

    /// As above, with the working storage of the caller's loop.
    public func append(record: UnsafeRawBufferPointer, fileKey: String, account: String?, region: String?, provenance: [UInt8] = [],
                       to out: inout [UInt8], resourceEvents: inout [UInt8], scratch: inout Scratch) throws(Rejection) {
        do {
            try JSONObjectScanner.members(of: record, into: &scratch.members)
        } catch {
            throw Self.invalid(error)
        }
        try append(record: record, members: scratch.members, fileKey: fileKey, account: account, region: region, provenance: provenance,
                   to: &out, resourceEvents: &resourceEvents, scratch: &scratch)
    }

    /// As above, for a record `JSONRecordsSplitter.feedScanned` has already scanned: its bytes are not scanned again.
    public func append(record: UnsafeRawBufferPointer, scanned: JSONRecordsSplitter.Scanned, fileKey: String, account: String?,
                       region: String?, provenance: [UInt8] = [], to out: inout [UInt8], resourceEvents: inout [UInt8],
                       scratch: inout Scratch) throws(Rejection) {
        switch scanned {
        case .failure(let error):
            throw Self.invalid(error)
        case .success(let members):
            try append(record: record, members: members, fileKey: fileKey, account: account, region: region, provenance: provenance,
                       to: &out, resourceEvents: &resourceEvents, scratch: &scratch)
        }
    }

    private static func invalid(_ error: JSONObjectScanner.Failure) -> Rejection {
        Rejection(reason: "record is not valid JSON: \(error.reason) at byte \(error.offset)")
    }

    /// The documents of a record whose top-level members are known.
    private func append(record: UnsafeRawBufferPointer, members: [JSONObjectScanner.Member], fileKey: String, account: String?,
                        region: String?, provenance: [UInt8], to out: inout [UInt8], resourceEvents: inout [UInt8],
                        scratch: inout Scratch) throws(Rejection) {
        let bytes = record.bindMemory(to: UInt8.self)
        var eventTime: JSONObjectScanner.Member?
        var eventID: JSONObjectScanner.Member?
        var recipient: JSONObjectScanner.Member?
        var awsRegion: JSONObjectScanner.Member?
        var readOnly: JSONObjectScanner.Member?
        var eventSource: JSONObjectScanner.Member?
        scratch.freeForm.removeAll(keepingCapacity: true)
        for member in members {
            let key = UnsafeBufferPointer(rebasing: bytes[member.key])
            // By length first: most keys are none of these and cost one switch.
            switch key.count {
            case 7 where Self.equals(key, "eventID"): eventID = member
            case 8 where Self.equals(key, "readOnly"): readOnly = member
            case 9 where Self.equals(key, "eventTime"): eventTime = member
            case 9 where Self.equals(key, "awsRegion"): awsRegion = member
            case 11 where Self.equals(key, "eventSource"): eventSource = member
            case 18 where Self.equals(key, "recipientAccountId"): recipient = member
            case 5, 10:
                if Self.equals(key, "@timestamp") || Self.equals(key, "cloud") || Self.equals(key, "cloudspool") {
                    throw Rejection(reason: "record already has a member '\(String(decoding: key, as: UTF8.self))', which cloudspool adds itself")
                }
            default:
                if key.count < 64, Self.freeFormLengths & (1 << UInt64(key.count)) != 0, member.kind != .null,
                   Self.freeFormKeys.contains(where: { Self.equals(key, $0) }) {
                    scratch.freeForm.append(member)
                }
            }
        }
        guard let eventTime, eventTime.kind == .string else {
            throw Rejection(reason: "record has no eventTime string")
        }
        let timeRange = (eventTime.value.lowerBound + 1)..<(eventTime.value.upperBound - 1)
        guard let timestamp = Timestamp.parse(bytes[timeRange]) else {
            throw Rejection(reason: "record has an eventTime that is not an ISO 8601 time: \(String(decoding: bytes[timeRange].prefix(64), as: UTF8.self))")
        }
        // What the index stores (date fields, the daily index name) must be a year the template and the index name can hold.
        guard Self.acceptedYears.contains(timestamp.parts.year) else {
            throw Rejection(reason: "record has an eventTime outside \(Self.acceptedYears.lowerBound)-\(Self.acceptedYears.upperBound) in UTC: \(String(decoding: bytes[timeRange].prefix(64), as: UTF8.self))")
        }
        // The template maps eventTime as a date in strict ISO 8601: any other spelling the parser accepts
        // (a space or lower-case letters, an offset) is written as the same instant in UTC, and the text as written is kept.
        let strict = timeRange.count >= 20 && bytes[timeRange.lowerBound + 10] == UInt8(ascii: "T") && bytes[timeRange.upperBound - 1] == UInt8(ascii: "Z")
        let rewrittenTime: Range<Int>? = strict ? nil : eventTime.value
        guard let eventID, eventID.kind == .string, eventID.value.count > 2 else {
            throw Rejection(reason: "record has no eventID string")
        }

        // {"index":{"_index":"awscli-trail-2026.11.27","_id":"…"}}
        out.append(contentsOf: #"{"index":{"_index":""#.utf8)
        out.append(contentsOf: indexStem.utf8)
        out.append(UInt8(ascii: "-"))
        timestamp.appendIndexDay(to: &out)
        out.append(contentsOf: #"","_id":"#.utf8)
        out.append(contentsOf: bytes[eventID.value])
        out.append(contentsOf: "}}\n".utf8)

        out.append(contentsOf: #"{"@timestamp":""#.utf8)
        timestamp.appendCanonical(to: &out)
        out.append(contentsOf: #"","cloud":{"provider":"aws""#.utf8)
        if let recipient, recipient.kind == .string {
            out.append(contentsOf: #","account":{"id":"#.utf8)
            out.append(contentsOf: bytes[recipient.value])
            out.append(UInt8(ascii: "}"))
        } else if let account {
            out.append(contentsOf: #","account":{"id":"#.utf8)
            JSONText.appendString(account, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        if let awsRegion, awsRegion.kind == .string {
            out.append(contentsOf: #","region":"#.utf8)
            out.append(contentsOf: bytes[awsRegion.value])
        } else if let region {
            out.append(contentsOf: #","region":"#.utf8)
            JSONText.appendString(region, to: &out)
        }
        out.append(contentsOf: #"},"cloudspool":{"log_file":"#.utf8)
        if scratch.fileKey != fileKey {
            scratch.fileKeyJSON.removeAll(keepingCapacity: true)
            JSONText.appendString(fileKey, to: &scratch.fileKeyJSON)
            scratch.fileKey = fileKey
        }
        out.append(contentsOf: scratch.fileKeyJSON)
        out.append(contentsOf: provenance)
        if rewrittenTime != nil {
            out.append(contentsOf: #","event_time_as_written":"#.utf8)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[eventTime.value]))
        }
        let freeForm = scratch.freeForm
        if !freeForm.isEmpty {
            out.append(contentsOf: #","payload_text":""#.utf8)
            var budget = Self.maxPayloadText
            for (n, member) in freeForm.enumerated() where budget > 0 {
                if n > 0 { out.append(UInt8(ascii: " ")) }
                let key = bytes[member.key]
                let value = bytes[member.value]
                JSONText.appendEscapedContent(UnsafeBufferPointer(rebasing: key), limit: &budget, to: &out)
                out.append(contentsOf: "=".utf8)
                JSONText.appendEscapedContent(UnsafeBufferPointer(rebasing: value), limit: &budget, to: &out)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: "}".utf8)

        // The record's own members, as written (line breaks between tokens become spaces).
        let open = Self.firstNonSpace(bytes)
        if members.isEmpty {
            out.append(UInt8(ascii: "}"))
        } else {
            out.append(UInt8(ascii: ","))
            let start = open + 1
            let copied = out.count
            if let rewrittenTime {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<rewrittenTime.lowerBound]))
                out.append(UInt8(ascii: "\""))
                timestamp.appendCanonical(to: &out)
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[rewrittenTime.upperBound...]))
            } else {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
            }
            // Valid JSON has raw line breaks only between tokens: make them spaces (rare: CloudTrail writes one line).
            if memchr(bytes.baseAddress! + start, 10, bytes.count - start) != nil || memchr(bytes.baseAddress! + start, 13, bytes.count - start) != nil {
                for k in copied..<out.count where out[k] == 10 || out[k] == 13 { out[k] = 32 }
            }
        }
        out.append(10)
        if let readOnly, readOnly.kind == .bool, bytes[readOnly.value.lowerBound] == UInt8(ascii: "f"),
           let source = eventSource,
           ResourceEvent.sources.contains(where: { Self.equals(UnsafeBufferPointer(rebasing: bytes[source.value]), $0) }) {
            // Only for calls of the services the change feed tracks; the resource ids are read from the
            // bytes, and the event is written from them only when it names a resource.
            if ResourceEvent.append(members: members, of: bytes, account: account, region: region, to: &resourceEvents) {
                resourceEvents.append(10)
            }
        }
    }

    /// `,"run_id":…,"raw_file":…`: the raw run and the file inside it a document comes from.
    public static func provenance(runID: String, rawFile: String) -> [UInt8] {
        var out: [UInt8] = Array(#","run_id":"#.utf8)
        JSONText.appendString(runID, to: &out)
        out.append(contentsOf: #","raw_file":"#.utf8)
        JSONText.appendString(rawFile, to: &out)
        return out
    }

    @inline(__always)
    static func equals(_ a: UnsafeBufferPointer<UInt8>, _ b: String) -> Bool {
        var b = b
        return b.withUTF8 { bb in a.count == bb.count && (a.count == 0 || memcmp(a.baseAddress!, bb.baseAddress!, a.count) == 0) }
    }

    @inline(__always)
    static func equals(_ a: UnsafeBufferPointer<UInt8>, _ b: [UInt8]) -> Bool {
        a.count == b.count && b.withUnsafeBufferPointer { bb in a.count == 0 || memcmp(a.baseAddress!, bb.baseAddress!, a.count) == 0 }
    }

    static func firstNonSpace(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var i = 0
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 10 || bytes[i] == 13 || bytes[i] == 9 { i += 1 }
        return i
    }
}

#if canImport(Glibc)
import Glibc
#endif
