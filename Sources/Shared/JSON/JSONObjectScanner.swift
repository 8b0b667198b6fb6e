/// A validating scan of one JSON object that reports where each top-level
/// member's key and value are, without building any values.
///
/// Transform uses it on each CloudTrail record: it proves the record is valid
/// JSON (so the index never sees a malformed document), finds the few fields
/// the document needs, and lets the record's bytes be copied through as
/// CloudTrail wrote them.
public struct JSONObjectScanner {
    /// What kind of JSON value a member holds.
    public enum Kind: Sendable, Equatable { case object, array, string, number, bool, null }

    /// One top-level member: byte ranges relative to the scanned buffer.
    public struct Member: Sendable, Equatable {
        /// The key's raw bytes, without the quotes (escapes as written).
        public var key: Range<Int>
        /// The value's raw bytes (strings with their quotes).
        public var value: Range<Int>
        public var kind: Kind
    }

    /// The deepest nesting accepted (deeper input is rejected, not recursed into).
    public static let maxDepth = 256

    public struct Failure: Error, Sendable {
        public let offset: Int
        public let reason: String
        /// The bytes ran out before the object was complete: more of the stream may complete it.
        public var truncated = false
    }

    /// Scans `bytes`, which must hold exactly one JSON object (surrounding whitespace allowed).
    public static func members(of bytes: UnsafeRawBufferPointer) throws(Failure) -> [Member] {
        var members: [Member] = []
        members.reserveCapacity(24)
        try self.members(of: bytes, into: &members)
        return members
    }

    /// As `members(of:)`, into `members` (emptied first, its storage kept): a loop over many
    /// objects allocates once.
    public static func members(of bytes: UnsafeRawBufferPointer, into members: inout [Member]) throws(Failure) {
        var scanner = Cursor(p: bytes.bindMemory(to: UInt8.self), i: 0)
        scanner.skipSpace()
        try scanner.object(into: &members, base: 0)
        scanner.skipSpace()
        guard scanner.i == bytes.count else { throw Failure(offset: scanner.i, reason: "data after the end of the object") }
    }

    /// Scans the object that starts at `start` in `bytes`, which may go on after it (the rest of a
    /// stream); returns where the object ends. Member ranges and failure offsets are relative to
    /// `start`. A failure with `truncated` set means the bytes ran out first.
    public static func object(in bytes: UnsafeBufferPointer<UInt8>, at start: Int, into members: inout [Member]) throws(Failure) -> Int {
        var scanner = Cursor(p: bytes, i: start)
        do {
            try scanner.object(into: &members, base: start)
        } catch {
            throw Failure(offset: error.offset - start, reason: error.reason, truncated: scanner.reachedEnd)
        }
        return scanner.i
    }

    private struct Cursor {
        let p: UnsafeBufferPointer<UInt8>
        var i: Int
        /// Set when the scan needed a byte past the end: whatever it throws then is about missing bytes.
        var reachedEnd = false

        @inline(__always) mutating func peek() -> UInt8 {
            if i < p.count { return p[i] }
            reachedEnd = true
            return 0
        }

        /// The object at `i` (its `{`), with each top-level member's ranges, less `base`, in `members`.
        mutating func object(into members: inout [Member], base: Int) throws(Failure) {
            members.removeAll(keepingCapacity: true)
            guard peek() == 123 else { throw Failure(offset: i, reason: "a record must be a JSON object") }
            i += 1
            skipSpace()
            if peek() == 125 {
                i += 1
                return
            }
            while true {
                skipSpace()
                guard peek() == 34 else { throw Failure(offset: i, reason: "expected a key") }
                let keyStart = i + 1
                try string()
                let keyRange = (keyStart - base)..<(i - 1 - base)
                skipSpace()
                guard peek() == 58 else { throw Failure(offset: i, reason: "expected ':'") }
                i += 1
                skipSpace()
                let valueStart = i
                let kind = try value(depth: 1)
                members.append(Member(key: keyRange, value: (valueStart - base)..<(i - base), kind: kind))
                skipSpace()
                let c = peek()
                if c == 44 { i += 1; continue }
                if c == 125 { i += 1; return }
                throw Failure(offset: i, reason: "expected ',' or '}'")
            }
        }

        @inline(__always) mutating func skipSpace() {
            while i < p.count {
                let c = p[i]
                if c == 32 || c == 10 || c == 13 || c == 9 { i += 1 } else { return }
            }
        }

        mutating func value(depth: Int) throws(Failure) -> Kind {
            guard depth <= JSONObjectScanner.maxDepth else { throw Failure(offset: i, reason: "nested deeper than \(JSONObjectScanner.maxDepth) levels") }
            switch peek() {
            case 123:
                i += 1
                skipSpace()
                if peek() == 125 { i += 1; return .object }
                while true {
                    skipSpace()
                    guard peek() == 34 else { throw Failure(offset: i, reason: "expected a key") }
                    try string()
                    skipSpace()
                    guard peek() == 58 else { throw Failure(offset: i, reason: "expected ':'") }
                    i += 1
                    skipSpace()
                    _ = try value(depth: depth + 1)
                    skipSpace()
                    let c = peek()
                    if c == 44 { i += 1; continue }
                    if c == 125 { i += 1; return .object }
                    throw Failure(offset: i, reason: "expected ',' or '}'")
                }
            case 91:
                i += 1
                skipSpace()
                if peek() == 93 { i += 1; return .array }
                while true {
                    skipSpace()
                    _ = try value(depth: depth + 1)
                    skipSpace()
                    let c = peek()
                    if c == 44 { i += 1; continue }
                    if c == 93 { i += 1; return .array }
                    throw Failure(offset: i, reason: "expected ',' or ']'")
                }
            case 34:
                try string()
                return .string
            case 116: try literal([116, 114, 117, 101]); return .bool
            case 102: try literal([102, 97, 108, 115, 101]); return .bool
            case 110: try literal([110, 117, 108, 108]); return .null
            case 45, 48...57:
                try number()
                return .number
            default:
                if i >= p.count { reachedEnd = true }
                throw Failure(offset: i, reason: i >= p.count ? "the record ends early" : "unexpected character")
            }
        }

        mutating func literal(_ word: [UInt8]) throws(Failure) {
            guard i + word.count <= p.count else {
                reachedEnd = true
                throw Failure(offset: i, reason: "the record ends early")
            }
            for k in 0..<word.count where p[i + k] != word[k] {
                throw Failure(offset: i, reason: "invalid literal")
            }
            i += word.count
        }

        mutating func number() throws(Failure) {
            let start = i
            if peek() == 45 { i += 1 }
            guard i < p.count else {
                reachedEnd = true
                throw Failure(offset: start, reason: "invalid number")
            }
            if p[i] == 48 {
                i += 1
            } else if p[i] >= 49 && p[i] <= 57 {
                while i < p.count && p[i] >= 48 && p[i] <= 57 { i += 1 }
            } else {
                throw Failure(offset: start, reason: "invalid number")
            }
            if peek() == 46 {
                i += 1
                let digits = i
                while i < p.count && p[i] >= 48 && p[i] <= 57 { i += 1 }
                guard i > digits else {
                    if i >= p.count { reachedEnd = true }
                    throw Failure(offset: start, reason: "invalid number")
                }
            }
            if peek() == 101 || peek() == 69 {
                i += 1
                if peek() == 43 || peek() == 45 { i += 1 }
                let digits = i
                while i < p.count && p[i] >= 48 && p[i] <= 57 { i += 1 }
                guard i > digits else {
                    if i >= p.count { reachedEnd = true }
                    throw Failure(offset: start, reason: "invalid number")
                }
            }
        }

        /// A string starting at the opening quote; leaves `i` after the closing quote.
        mutating func string() throws(Failure) {
            let start = i
            i += 1
            let base = p.baseAddress!
            while i < p.count {
                // The plain run of the string, eight bytes at a time, then the byte that ends it.
                i = ByteScan.quoteBackslashOrControl(base, from: i, end: p.count)
                guard i < p.count else { break }
                let c = p[i]
                if c == 34 { i += 1; return }
                if c == 92 {
                    guard i + 1 < p.count else { break }
                    switch p[i + 1] {
                    case 34, 92, 47, 98, 102, 110, 114, 116:
                        i += 2
                    case 117:
                        guard i + 5 < p.count else {
                            reachedEnd = true
                            throw Failure(offset: i, reason: "invalid \\u escape")
                        }
                        for k in 2...5 {
                            let h = p[i + k]
                            guard (h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102) else {
                                throw Failure(offset: i, reason: "invalid \\u escape")
                            }
                        }
                        i += 6
                    default:
                        throw Failure(offset: i, reason: "invalid escape in a string")
                    }
                    continue
                }
                if c < 32 { throw Failure(offset: i, reason: "control character inside a string") }
                i += 1
            }
            reachedEnd = true
            throw Failure(offset: start, reason: "unterminated string")
        }
    }
}
