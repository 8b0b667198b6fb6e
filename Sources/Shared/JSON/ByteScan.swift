/// Word-at-a-time searches over bytes (SWAR: eight bytes per step in a
/// 64-bit register), for the hot loops of the CloudTrail transform: the
/// inside of JSON strings and the ASCII runs of UTF-8 text.
///
/// Each function returns the index of the first byte that matches, or `end`
/// when none does. The word tests can flag a byte above a real match (a
/// borrow carries upwards), never below one, so the lowest flagged byte is
/// always a real match.
enum ByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080
    private static let quotes: UInt64 = 0x2222_2222_2222_2222
    private static let backslashes: UInt64 = 0x5C5C_5C5C_5C5C_5C5C
    private static let spaces: UInt64 = 0x2020_2020_2020_2020

    /// The high bit of each byte of `x` that is zero.
    @inline(__always)
    private static func zeroBytes(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }

    @inline(__always)
    private static func word(_ p: UnsafePointer<UInt8>, _ i: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
    }

    /// The first `"` or `\` in `p[i..<end]`: where a JSON string's plain run stops.
    @inline(__always)
    static func quoteOrBackslash(_ p: UnsafePointer<UInt8>, from i: Int, end: Int) -> Int {
        var i = i
        while i + 8 <= end {
            let x = word(p, i)
            let hits = zeroBytes(x ^ quotes) | zeroBytes(x ^ backslashes)
            if hits != 0 { return i + hits.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < end, p[i] != 34, p[i] != 92 { i += 1 }
        return i
    }

    /// The first `"`, `\` or control character (below 0x20) in `p[i..<end]`:
    /// what a validating scan of a JSON string must look at.
    @inline(__always)
    static func quoteBackslashOrControl(_ p: UnsafePointer<UInt8>, from i: Int, end: Int) -> Int {
        var i = i
        while i + 8 <= end {
            let x = word(p, i)
            // Bytes below 0x20: (x - 0x20..) & ~x & 0x80.. (exact for the lowest one, as above).
            let hits = zeroBytes(x ^ quotes) | zeroBytes(x ^ backslashes) | ((x &- spaces) & ~x & highs)
            if hits != 0 { return i + hits.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < end, p[i] != 34, p[i] != 92, p[i] >= 32 { i += 1 }
        return i
    }

    /// The first byte of `p[i..<end]` that is not ASCII (0x80 or above).
    @inline(__always)
    static func nonASCII(_ p: UnsafePointer<UInt8>, from i: Int, end: Int) -> Int {
        var i = i
        // Thirty-two bytes to a branch while they are all ASCII (most of the input), then word by word.
        while i + 32 <= end, (word(p, i) | word(p, i + 8) | word(p, i + 16) | word(p, i + 24)) & highs == 0 {
            i += 32
        }
        while i + 8 <= end {
            let hits = word(p, i) & highs
            if hits != 0 { return i + hits.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < end, p[i] < 0x80 { i += 1 }
        return i
    }
}
