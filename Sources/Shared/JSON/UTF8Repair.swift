/// Checks and repairs UTF-8, as JSON requires it: a record with an invalid
/// sequence inside a string would be copied into the NDJSON as it is, and the
/// index would store (and answer) invalid JSON.
public enum UTF8Repair {
    /// Whether `bytes` is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        var i = 0
        let n = bytes.count
        while i < n {
            // ASCII runs (nearly all of a CloudTrail record) eight bytes at a time.
            i = ByteScan.nonASCII(base, from: i, end: n)
            guard i < n else { break }
            guard let length = sequenceLength(bytes, at: i) else { return false }
            i += length
        }
        return true
    }

    /// `bytes` with every invalid sequence replaced by U+FFFD (EF BF BD), and how many were replaced.
    public static func repaired(_ bytes: UnsafeRawBufferPointer) -> (bytes: [UInt8], replaced: Int) {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var replaced = 0
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i]
            if b0 < 0x80 { out.append(b0); i += 1; continue }
            if let length = sequenceLength(bytes, at: i) {
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + length)]))
                i += length
            } else {
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
                replaced += 1
                i += 1
            }
        }
        return (out, replaced)
    }

    /// The length of the well-formed multi-byte sequence at `i`, or nil.
    @inline(__always)
    private static func sequenceLength(_ b: UnsafeRawBufferPointer, at i: Int) -> Int? {
        let n = b.count
        let b0 = b[i]
        func cont(_ k: Int) -> Bool { i + k < n && b[i + k] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            return cont(1) ? 2 : nil
        case 0xE0:
            return i + 2 < n && (0xA0...0xBF).contains(b[i + 1]) && cont(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(1) && cont(2) ? 3 : nil
        case 0xED:
            return i + 2 < n && (0x80...0x9F).contains(b[i + 1]) && cont(2) ? 3 : nil
        case 0xF0:
            return i + 3 < n && (0x90...0xBF).contains(b[i + 1]) && cont(2) && cont(3) ? 4 : nil
        case 0xF1...0xF3:
            return cont(1) && cont(2) && cont(3) ? 4 : nil
        case 0xF4:
            return i + 3 < n && (0x80...0x8F).contains(b[i + 1]) && cont(2) && cont(3) ? 4 : nil
        default:
            return nil
        }
    }
}
