/// Writing JSON text by hand, for the hot paths where building values and
/// encoding them would cost more than the work itself.
public enum JSONText {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `"text"` with JSON escaping.
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(34)
        var text = text
        text.withUTF8 { bytes in
            var budget = Int.max
            appendEscapedContent(bytes, limit: &budget, to: &out)
        }
        out.append(34)
    }

    /// Appends `bytes` escaped as the inside of a JSON string, at most `limit` bytes of input
    /// (cut at a UTF-8 character boundary); `limit` is decreased by what was taken.
    public static func appendEscapedContent(_ bytes: UnsafeBufferPointer<UInt8>, limit: inout Int, to out: inout [UInt8]) {
        var end = min(bytes.count, max(limit, 0))
        // Do not cut a multi-byte character in half.
        while end < bytes.count && end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        limit -= end
        guard end > 0, let base = bytes.baseAddress else { return }
        // Grow geometrically: reserving the exact size on every call would copy a large buffer each time.
        let needed = out.count + end + 16
        if out.capacity < needed { out.reserveCapacity(max(needed, out.capacity * 2)) }
        var runStart = 0
        var k = 0
        while k < end {
            // Most bytes need no escaping: find the next one that does, eight bytes at a time, and copy the run before it.
            k = ByteScan.quoteBackslashOrControl(base, from: k, end: end)
            guard k < end else { break }
            let c = base[k]
            if k > runStart { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: k - runStart)) }
            switch c {
            case 34: out.append(92); out.append(34)
            case 92: out.append(92); out.append(92)
            case 10: out.append(92); out.append(110)
            case 13: out.append(92); out.append(114)
            case 9: out.append(92); out.append(116)
            default:
                out.append(contentsOf: [92, 117, 48, 48, hex[Int(c >> 4)], hex[Int(c & 15)]])
            }
            k += 1
            runStart = k
        }
        if end > runStart { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: end - runStart)) }
    }

    /// A JSON string literal for `text`.
    public static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        appendString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
