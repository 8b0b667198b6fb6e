import Foundation
import Testing
@testable import Shared

@Suite struct JSONRecordsSplitterTests {
    static let records = [
        #"{"eventID":"a","eventTime":"2026-11-27T23:59:59Z","requestParameters":{"s":"has } and ] and \" inside","n":[1,2,{"x":null}]}}"#,
        #"{"eventID":"b","nested":{"deep":[[[]]]},"text":"\\"}"#,
        #"{"eventID":"c"}"#,
    ]
    static let document = #"{"Records":["# + records.joined(separator: ",\n ") + #"], "other": {"x": [1, "]"]}}"#

    /// Feeds `text` to a new splitter `chunk` bytes at a time, then finishes it.
    func feedInChunks(_ text: String, chunk: Int, _ feed: (inout JSONRecordsSplitter, UnsafeRawBufferPointer) throws -> Void) throws {
        var splitter = JSONRecordsSplitter()
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let end = min(i + chunk, bytes.count)
            try bytes[i..<end].withUnsafeBytes { try feed(&splitter, $0) }
            i = end
        }
        try splitter.finish()
    }

    func split(_ text: String, chunk: Int) throws -> [String] {
        var out: [String] = []
        try feedInChunks(text, chunk: chunk) { splitter, raw in
            try splitter.feed(raw) { out.append(String(decoding: $0, as: UTF8.self)) }
        }
        return out
    }

    @Test func everyChunkBoundaryGivesTheSameRecords() throws {
        for chunk in 1...Self.document.utf8.count {
            #expect(try split(Self.document, chunk: chunk) == Self.records, "chunk size \(chunk)")
        }
    }

    @Test func otherTopLevelKeysBeforeTheArrayAreSkipped() throws {
        let text = #"{"version": "1", "meta": {"a": [1, {"b": "]}"}]}, "n": 5, "Records": [{"eventID":"x"}]}"#
        #expect(try split(text, chunk: 3) == [#"{"eventID":"x"}"#])
    }

    @Test func emptyRecordsArray() throws {
        #expect(try split(#"{"Records":[]}"#, chunk: 2) == [])
    }

    @Test func truncatedDocumentIsAnError() throws {
        let cut = String(Self.document.prefix(60))
        let error = #expect(throws: CloudspoolError.self) { try split(cut, chunk: 8) }
        #expect(error?.message == "not a CloudTrail log file: the JSON ends in the middle (truncated after 0 complete records)")
    }

    @Test func documentWithoutRecordsIsAnError() throws {
        let error = #expect(throws: CloudspoolError.self) { try split(#"{"Items":[{"a":1}]}"#, chunk: 4) }
        #expect(error?.message.hasPrefix("not a CloudTrail log file: the document has no \"Records\" array") == true)
    }

    @Test func arrayAtTopLevelIsAnError() throws {
        let error = #expect(throws: CloudspoolError.self) { try split(#"[{"a":1}]"#, chunk: 4) }
        #expect(error?.message == "not a CloudTrail log file: expected '{' at the start (at byte 0)")
    }

    @Test func nonObjectRecordIsAnError() throws {
        #expect(throws: CloudspoolError.self) { try split(#"{"Records":[1,2]}"#, chunk: 4) }
    }

    @Test func emptyInputIsAnError() throws {
        let error = #expect(throws: CloudspoolError.self) { try split("", chunk: 4) }
        #expect(error?.message == "not a CloudTrail log file: it is empty")
    }

    /// What `feedScanned` hands over with a record, as text: its members, or the failure's reason and offset.
    func scannedSplit(_ text: String, chunk: Int) throws -> [String] {
        var out: [String] = []
        try feedInChunks(text, chunk: chunk) { splitter, raw in
            try splitter.feedScanned(raw) { record, scanned in out.append(Self.describe(record, scanned)) }
        }
        return out
    }

    static func describe(_ record: UnsafeRawBufferPointer, _ scanned: JSONRecordsSplitter.Scanned) -> String {
        let text = String(decoding: record, as: UTF8.self)
        switch scanned {
        case .success(let members):
            let bytes = Array(record)
            return text + " -> " + members.map { "\(String(decoding: bytes[$0.key], as: UTF8.self))=\(String(decoding: bytes[$0.value], as: UTF8.self)):\($0.kind)" }
                .joined(separator: ";")
        case .failure(let failure):
            return text + " -> invalid: \(failure.reason) at \(failure.offset)"
        }
    }

    /// The one-pass scan (record found and validated at once) gives, at every chunk boundary, the same records,
    /// members and failures as validating each record after it is delimited; invalid records (a bad escape, a
    /// control character, a bad literal or number, a missing comma) are delimited by their braces and handed over
    /// with their failure, and the records after them go on.
    @Test func scannedRecordsEqualAValidationAfterTheSplit() throws {
        let records = Self.records + [
            #"{"eventID":"bad-escape","x":"\q"}"#,
            "{\"eventID\":\"control\",\"x\":\"a\u{01}b\"}",
            #"{"eventID":"bad-literal","readOnly":tru}"#,
            #"{"eventID":"bad-number","n":01,"m":[1e5,-0.5,2E+3]}"#,
            #"{"eventID":"no-comma" "x":1}"#,
            #"{"eventID":"unicode","x":"\u00e9\ud83d\ude80 été","y":[true,false,null,{}]}"#,
            #"{"eventID":"last","n":12345}"#,
        ]
        let document = #"{"Records":["# + records.joined(separator: ",\n ") + "]}"
        let expected = records.map { text -> String in
            let bytes = Array(text.utf8)
            return bytes.withUnsafeBytes { raw in
                var members: [JSONObjectScanner.Member] = []
                do throws(JSONObjectScanner.Failure) {
                    try JSONObjectScanner.members(of: raw, into: &members)
                    return Self.describe(raw, .success(members))
                } catch {
                    return Self.describe(raw, .failure(error))
                }
            }
        }
        #expect(expected.filter { $0.contains("-> invalid:") }.count == 5)
        for chunk in 1...document.utf8.count {
            #expect(try scannedSplit(document, chunk: chunk) == expected, "chunk size \(chunk)")
        }
    }
}

@Suite struct JSONObjectScannerTests {
    func members(_ text: String) throws -> [(String, String, JSONObjectScanner.Kind)] {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { raw in
            try JSONObjectScanner.members(of: raw).map {
                (String(decoding: bytes[$0.key], as: UTF8.self), String(decoding: bytes[$0.value], as: UTF8.self), $0.kind)
            }
        }
    }

    @Test func findsTopLevelMembers() throws {
        let found = try members(#" {"a": 1.5e-3, "b" : "x\"y", "c": {"d": [true, false, null]}, "e": null, "f": -0} "#)
        #expect(found.map(\.0) == ["a", "b", "c", "e", "f"])
        #expect(found.map(\.1) == ["1.5e-3", #""x\"y""#, #"{"d": [true, false, null]}"#, "null", "-0"])
        #expect(found.map(\.2) == [.number, .string, .object, .null, .number])
    }

    @Test(arguments: [
        #"{"a": 01}"#, #"{"a": 1.}"#, #"{"a": tru}"#, #"{"a": "x}"#, #"{"a" 1}"#, #"{"a": 1,}"#, #"{"a": "\q"}"#,
        #"{"a": [1 2]}"#, #"{"a": 1} x"#, "{\"a\": \"line\nbreak\"}", #"{"a": "\u12G4"}"#, #"[1]"#, #"{"a":{"b":1}"#,
    ])
    func rejectsInvalidJSON(text: String) {
        #expect(throws: JSONObjectScanner.Failure.self) { try members(text) }
    }

    @Test func rejectsTooDeepNesting() {
        let deep = "{\"a\":" + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}"
        #expect(throws: JSONObjectScanner.Failure.self) { try members(deep) }
    }
}
