import Foundation
import Testing
@testable import Shared

@Suite struct CloudTrailDocumentBuilderTests {
    let builder = CloudTrailDocumentBuilder(indexStem: "awscli-trail")

    func build(_ record: String, key: String = "AWSLogs/111111111111/CloudTrail/eu-west-1/2026/11/28/f.json.gz",
               account: String? = "111111111111", region: String? = "eu-west-1") throws(CloudTrailDocumentBuilder.Rejection) -> String {
        var out: [UInt8] = []
        let bytes = Array(record.utf8)
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { raw.deallocate() }
        raw.copyBytes(from: bytes)
        try builder.append(record: UnsafeRawBufferPointer(raw), fileKey: key, account: account, region: region, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func wholeOutputForARecord() throws {
        let record = #"{"eventVersion":"1.09","eventTime":"2026-11-27T23:59:58Z","eventID":"3a6f-1","awsRegion":"us-east-1","recipientAccountId":"222222222222","requestParameters":{"filter":"a \"b\""},"responseElements":null,"eventName":"RunInstances"}"#
        let expected = #"""
        {"index":{"_index":"awscli-trail-2026.11.27","_id":"3a6f-1"}}
        {"@timestamp":"2026-11-27T23:59:58Z","cloud":{"provider":"aws","account":{"id":"222222222222"},"region":"us-east-1"},"cloudspool":{"log_file":"AWSLogs/111111111111/CloudTrail/eu-west-1/2026/11/28/f.json.gz","payload_text":"requestParameters={\"filter\":\"a \\\"b\\\"\"}"},"eventVersion":"1.09","eventTime":"2026-11-27T23:59:58Z","eventID":"3a6f-1","awsRegion":"us-east-1","recipientAccountId":"222222222222","requestParameters":{"filter":"a \"b\""},"responseElements":null,"eventName":"RunInstances"}

        """#
        let output = try build(record)
        #expect(output == expected)
        // Both lines are JSON, and the document keeps every member of the record unchanged.
        let lines = output.split(separator: "\n")
        let document = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as! [String: Any]
        let original = try JSONSerialization.jsonObject(with: Data(record.utf8)) as! [String: Any]
        for (key, value) in original {
            #expect("\(document[key] ?? "missing")" == "\(value)", "member \(key)")
        }
    }

    @Test func indexDayIsTheEventsUTCDay() throws {
        let output = try build(#"{"eventTime":"2026-11-28T01:30:00+02:00","eventID":"x"}"#)
        #expect(output.hasPrefix(#"{"index":{"_index":"awscli-trail-2026.11.27","_id":"x"}}"# + "\n" + #"{"@timestamp":"2026-11-27T23:30:00Z""#))
    }

    @Test func accountAndRegionFallBackToTheKey() throws {
        let output = try build(#"{"eventTime":"2026-11-28T01:30:00Z","eventID":"x"}"#, account: "333333333333", region: "ap-south-1")
        #expect(output.contains(#""cloud":{"provider":"aws","account":{"id":"333333333333"},"region":"ap-south-1"}"#))
    }

    @Test func lineBreaksInsideTheRecordBecomeSpaces() throws {
        let output = try build("{\n  \"eventTime\": \"2026-11-28T01:30:00Z\",\n  \"eventID\": \"x\"\n}")
        #expect(output.split(separator: "\n").count == 2)
    }

    @Test(arguments: [
        (#"{"eventID":"x"}"#, "record has no eventTime string"),
        (#"{"eventTime":"yesterday","eventID":"x"}"#, "record has an eventTime that is not an ISO 8601 time: yesterday"),
        (#"{"eventTime":"2026-02-30T00:00:00Z","eventID":"x"}"#, "record has an eventTime that is not an ISO 8601 time: 2026-02-30T00:00:00Z"),
        (#"{"eventTime":"2026-11-28T01:30:00Z"}"#, "record has no eventID string"),
        (#"{"eventTime":"2026-11-28T01:30:00Z","eventID":"x","cloud":1}"#, "record already has a member 'cloud', which cloudspool adds itself"),
        (#"{"eventTime":"2026-11-28T01:30:00Z","eventID":"x""#, "record is not valid JSON: expected ',' or '}' at byte 49"),
    ])
    func rejections(record: String, reason: String) {
        #expect(throws: CloudTrailDocumentBuilder.Rejection.self) { try build(record) }
        do throws(CloudTrailDocumentBuilder.Rejection) {
            _ = try build(record)
        } catch {
            #expect(error.reason == reason)
        }
    }

    @Test func payloadTextIsCappedAtACharacterBoundary() throws {
        let big = String(repeating: "é", count: CloudTrailDocumentBuilder.maxPayloadText)
        let output = try build(#"{"eventTime":"2026-11-28T01:30:00Z","eventID":"x","responseElements":{"v":"\#(big)"}}"#)
        let document = try JSONSerialization.jsonObject(with: Data(output.split(separator: "\n")[1].utf8)) as! [String: Any]
        let text = (document["cloudspool"] as! [String: Any])["payload_text"] as! String
        #expect(text.utf8.count <= CloudTrailDocumentBuilder.maxPayloadText + 40)
        #expect(text.hasPrefix("responseElements={\"v\":\"éé"))
    }
}

@Suite struct CloudTrailKeyTests {
    @Test func organizationTrailKey() throws {
        let key = try #require(CloudTrailKey(key: "logs/AWSLogs/o-abc1234567/111111111111/CloudTrail/eu-west-1/2026/11/28/111111111111_CloudTrail_eu-west-1_20261128T1015Z_AbCd.json.gz"))
        #expect(key.organization == "o-abc1234567")
        #expect(key.account == "111111111111")
        #expect(key.region == "eu-west-1")
        #expect(UTCDate.iso8601(key.day) == "2026-11-28T00:00:00Z")
        #expect(UTCDate.iso8601(key.deliveredAt) == "2026-11-28T10:15:00Z")
    }

    @Test func singleAccountTrailKey() throws {
        let key = try #require(CloudTrailKey(key: "AWSLogs/222222222222/CloudTrail/us-east-1/2026/01/02/222222222222_CloudTrail_us-east-1_20260102T0000Z_x.json.gz"))
        #expect(key.organization == nil)
        #expect(key.account == "222222222222")
    }

    @Test(arguments: [
        "AWSLogs/222222222222/CloudTrail-Digest/us-east-1/2026/01/02/222222222222_CloudTrail-Digest_us-east-1_x_20260102T000000Z.json.gz",
        "AWSLogs/222222222222/CloudTrail/ConfigWritabilityCheckFile",
        "AWSLogs/o-abc1234567/ConfigWritabilityCheckFile",
        "AWSLogs/222222222222/CloudTrail/us-east-1/2026/13/02/f.json.gz",
        "AWSLogs/2222/CloudTrail/us-east-1/2026/01/02/f.json.gz",
        "AWSLogs/222222222222/CloudTrail/us-east-1/2026/01/02/f.json",
    ])
    func notLogFiles(key: String) {
        #expect(CloudTrailKey(key: key) == nil)
    }
}

@Suite struct CloudTrailListingStateTests {
    let prefix = "AWSLogs/111111111111/CloudTrail/eu-west-1/"
    func key(_ day: String, _ time: String, _ suffix: String) -> CloudTrailKey {
        CloudTrailKey(key: "\(prefix)2026/11/\(day)/111111111111_CloudTrail_eu-west-1_202611\(day)T\(time)Z_\(suffix).json.gz")!
    }

    @Test func firstListingStartsAtTheFirstDay() {
        let state = CloudTrailListingState()
        #expect(state.startAfter(prefix: prefix, overlap: 3600, firstDay: UTCDate.parseDay("2026-11-20")!) == prefix + "2026/11/20")
    }

    @Test func lateFileWithinTheWindowIsNewAndFetchedOnesAreNot() {
        var state = CloudTrailListingState()
        let a = key("28", "1000", "m"), b = key("28", "1015", "z")
        state.record(prefix: prefix, keys: [a, b], overlap: 3600)
        #expect(state.prefixes[prefix]?.lastKey == b.key)
        #expect(!state.isNew(prefix: prefix, key: a, overlap: 3600))
        #expect(!state.isNew(prefix: prefix, key: b, overlap: 3600))
        // Delivered in the same minute as b, but its random part sorts before b's.
        #expect(state.isNew(prefix: prefix, key: key("28", "1015", "a"), overlap: 3600))
        #expect(state.isNew(prefix: prefix, key: key("28", "1020", "a"), overlap: 3600))
        // Before the window: done long ago.
        #expect(!state.isNew(prefix: prefix, key: key("28", "0800", "a"), overlap: 3600))
    }

    @Test func stateStaysSmall() {
        var state = CloudTrailListingState()
        for hour in 0..<24 {
            for minute in stride(from: 0, to: 60, by: 5) {
                let time = String(format: "%02d%02d", hour, minute)
                state.record(prefix: prefix, keys: [key("28", time, "x")], overlap: 3600)
            }
        }
        // Only the keys of the last hour (13 of 288) are remembered.
        #expect(state.prefixes[prefix]?.recent.count == 13)
        #expect(state.startAfter(prefix: prefix, overlap: 3600, firstDay: UTCDate.parseDay("2026-11-01")!) == prefix + "2026/11/28")
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-11-28T10:15:00Z", "2026-11-28T10:15:00Z", "2026.11.28"),
        ("2026-11-28T10:15:00.123Z", "2026-11-28T10:15:00.123Z", "2026.11.28"),
        ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00Z", "2025.12.31"),
        ("2024-02-29T23:00:00-02:00", "2024-03-01T01:00:00Z", "2024.03.01"),
    ])
    func parses(text: String, canonical: String, day: String) throws {
        let t = try #require(Timestamp.parse(Array(text.utf8)[...]))
        #expect(t.canonical == canonical)
        #expect(t.indexDay == day)
    }

    @Test(arguments: ["2026-11-28", "2026-11-28T10:15:00", "2026-11-28T25:00:00Z", "2025-02-29T00:00:00Z", "2026-11-28T10:15:00Zjunk", "x026-11-28T10:15:00Z"])
    func rejects(text: String) {
        #expect(Timestamp.parse(Array(text.utf8)[...]) == nil)
    }
}

@Suite struct FutureKeyTests {
    let prefix = "AWSLogs/111111111111/CloudTrail/eu-west-1/"

    @Test(arguments: ["2099/01/01/111111111111_CloudTrail_eu-west-1_20990101T0005Z_x.json.gz",
                      "2026/11/28/111111111111_CloudTrail_eu-west-1_20991231T2355Z_x.json.gz"])
    func futureKeyNeverMovesTheCheckpoint(_ forged: String) throws {
        var state = CloudTrailListingState()
        let now = try #require(UTCDate.parseISO8601("2026-11-28T10:20:00Z"))
        let real = try #require(CloudTrailKey(key: prefix + "2026/11/28/111111111111_CloudTrail_eu-west-1_20261128T1015Z_a.json.gz"))
        let future = try #require(CloudTrailKey(key: prefix + forged))
        let warned = state.record(prefix: prefix, keys: [real, future], overlap: 3600, now: now)
        #expect(warned.map(\.key) == [future.key])
        #expect(state.prefixes[prefix]?.lastKey == real.key)
        #expect(state.prefixes[prefix]?.future == [future.key])
        // fetched once, not again
        #expect(!state.isNew(prefix: prefix, key: future, overlap: 3600))
        // a real file delivered later is still new, and the listing starts at today's folder
        let later = try #require(CloudTrailKey(key: prefix + "2026/11/28/111111111111_CloudTrail_eu-west-1_20261128T1030Z_a.json.gz"))
        #expect(state.isNew(prefix: prefix, key: later, overlap: 3600))
        #expect(state.startAfter(prefix: prefix, overlap: 3600, firstDay: UTCDate.parseDay("2026-11-20")!) == prefix + "2026/11/28")
    }
}
