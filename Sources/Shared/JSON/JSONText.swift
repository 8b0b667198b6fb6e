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
        // Written in place, not byte by byte through `append`: room for the worst case of a two-byte escape per
        // byte is added (zeroed) and then cut to what was written. A `\u00XX` escape (a control character other
        // than \n, \r and \t) takes six bytes: when the rest might then not fit, the room is made again.
        var k = 0
        while k < end {
            let start = out.count
            let room = 2 * (end - k) + 8
            // Grow geometrically: reserving the exact size on every call would copy a large buffer each time.
            if out.capacity < start + room { out.reserveCapacity(max(start + room, out.capacity * 2)) }
            appendZeros(room, to: &out)
            var w = start
            out.withUnsafeMutableBufferPointer { buffer in
                let d = buffer.baseAddress!
                while k < end {
                    // Most bytes need no escaping: find the next one that does, eight bytes at a time, and copy the run before it.
                    let next = ByteScan.quoteBackslashOrControl(base, from: k, end: end)
                    if next > k {
                        (d + w).update(from: base + k, count: next - k)
                        w += next - k
                        k = next
                    }
                    guard k < end else { return }
                    let c = base[k]
                    switch c {
                    case 34: d[w] = 92; d[w + 1] = 34; w += 2
                    case 92: d[w] = 92; d[w + 1] = 92; w += 2
                    case 10: d[w] = 92; d[w + 1] = 110; w += 2
                    case 13: d[w] = 92; d[w + 1] = 114; w += 2
                    case 9: d[w] = 92; d[w + 1] = 116; w += 2
                    default:
                        guard buffer.count - w >= 6 + 2 * (end - k - 1) else { return }
                        d[w] = 92; d[w + 1] = 117; d[w + 2] = 48; d[w + 3] = 48
                        d[w + 4] = hex[Int(c >> 4)]; d[w + 5] = hex[Int(c & 15)]
                        w += 6
                    }
                    k += 1
                }
            }
            out.removeLast(out.count - w)
        }
    }

    /// Zeros copied, not written one by one (what `repeatElement` appends compiles to).
    private static let zeros = [UInt8](repeating: 0, count: 1 << 16)

    @inline(__always)
    private static func appendZeros(_ count: Int, to out: inout [UInt8]) {
        var left = count
        zeros.withUnsafeBufferPointer { zeros in
            while left > 0 {
                let n = min(left, zeros.count)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: zeros[0..<n]))
                left -= n
            }
        }
    }

    /// A JSON string literal for `text`.
    public static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        appendString(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
