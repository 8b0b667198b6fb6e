import Testing
@testable import Shared

/// `JSONText.appendEscapedContent` against a byte-by-byte reading of RFC 8259's escaping.
struct JSONTextTests {
    /// What the escaped content of `bytes` is, one byte at a time, cut at `limit` bytes on a character boundary.
    static func reference(_ bytes: [UInt8], limit: Int) -> [UInt8] {
        var end = min(bytes.count, max(limit, 0))
        while end < bytes.count && end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        var out: [UInt8] = []
        for c in bytes[..<end] {
            switch c {
            case 34: out += Array(#"\""#.utf8)
            case 92: out += Array(#"\\"#.utf8)
            case 10: out += Array(#"\n"#.utf8)
            case 13: out += Array(#"\r"#.utf8)
            case 9: out += Array(#"\t"#.utf8)
            case 0..<32: out += Array("\\u00".utf8) + Array(String(c >> 4, radix: 16).utf8) + Array(String(c & 15, radix: 16).utf8)
            default: out.append(c)
            }
        }
        return out
    }

    @Test(arguments: [
        "", "plain", #"{"a":"b\c"}"#, "line\nbreak\r\ttab", "\u{1}\u{2}\u{1f}", "é€😀", String(repeating: "\u{0}", count: 40),
        String(repeating: #"{"k":"v"},"#, count: 300), "ab" + String(repeating: "\u{7}", count: 3) + "cd",
    ])
    func escapesAsTheReference(_ text: String) {
        let bytes = Array(text.utf8)
        for limit in [0, 1, 2, 3, 5, 8, 17, bytes.count - 1, bytes.count, Int.max] {
            var out: [UInt8] = Array("prefix".utf8)
            var budget = limit
            bytes.withUnsafeBufferPointer { JSONText.appendEscapedContent($0, limit: &budget, to: &out) }
            let expected = Self.reference(bytes, limit: limit)
            #expect(out == Array("prefix".utf8) + expected, "limit \(limit)")
            var end = min(bytes.count, max(limit, 0))
            while end < bytes.count && end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
            #expect(budget == limit - end)
        }
    }

    /// Random bytes, control characters most of all (six bytes each: the room is made again mid-way).
    @Test func randomBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let count = Int.random(in: 0...300, using: &generator)
            let bytes = (0..<count).map { _ in
                Bool.random(using: &generator) ? UInt8.random(in: 0..<32, using: &generator) : UInt8.random(in: 32..<128, using: &generator)
            }
            var out: [UInt8] = []
            var budget = Int.max
            bytes.withUnsafeBufferPointer { JSONText.appendEscapedContent($0, limit: &budget, to: &out) }
            #expect(out == Self.reference(bytes, limit: Int.max))
        }
    }
}
