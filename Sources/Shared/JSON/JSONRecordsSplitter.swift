/// Splits a stream of `{"Records":[{…},{…},…]}` (CloudTrail's log file
/// format) into the bytes of each record, without parsing the records and
/// without holding more than the record being read.
///
/// Feed it chunks of the decompressed stream as they come; it calls `emit`
/// with each complete record (an object's bytes, `{` to `}`), and `finish()`
/// checks that the document was complete. Other top-level keys are skipped.
/// Structure errors throw `CloudspoolError(.format)` saying where.
///
/// Each record is validated in the same pass that finds its end
/// (`JSONObjectScanner`), and `feedScanned` hands over its members with it,
/// so the bytes of a record are scanned once. A record the validating scan
/// rejects is still delimited (by its braces, as CloudTrail's writer would)
/// and handed over with the failure, so one bad record does not stop the file;
/// so is a record that straddles two chunks, validated once it is complete.
public struct JSONRecordsSplitter {
    private enum Phase {
        case start, beforeKey, inKey, afterKey, beforeValue
        case skippingValue, afterValue
        case arrayBeforeElement, arrayAfterElement, inRecord
        case done
    }

    /// The top-level key holding the records.
    public let arrayKey: [UInt8]
    private var phase = Phase.start
    private var buffer: [UInt8] = []
    private var position = 0
    private var recordStart = 0
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var key: [UInt8] = []
    private var keyEscaped = false
    private var sawArray = false
    /// The members of the record being emitted (storage reused from record to record).
    private var members: [JSONObjectScanner.Member] = []
    private var consumedTotal: Int64 = 0
    /// Records emitted so far.
    public private(set) var recordCount = 0
    /// The largest record seen, in bytes (for memory reports).
    public private(set) var largestRecord = 0

    public init(arrayKey: String = "Records") {
        self.arrayKey = Array(arrayKey.utf8)
    }

    private func fail(_ what: String) -> CloudspoolError {
        CloudspoolError(.format, "not a CloudTrail log file: \(what) (at byte \(consumedTotal + Int64(position)))")
    }

    @inline(__always)
    private static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 10 || c == 13 || c == 9 }

    /// A record's top-level members, or why it is not valid JSON (offsets relative to the record).
    public typealias Scanned = Result<[JSONObjectScanner.Member], JSONObjectScanner.Failure>

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try feedScanned(chunk) { record, _ in try emit(record) }
    }

    /// As `feed`, handing over each record with the result of its validating scan.
    public mutating func feedScanned(_ chunk: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer, Scanned) throws -> Void) throws {
        buffer.append(contentsOf: chunk)
        try scan(emit: emit)
        // Drop what is consumed; keep the record (or token) in progress.
        let keepFrom = phase == .inRecord ? recordStart : position
        if keepFrom > 0 && (keepFrom >= buffer.count / 2 || keepFrom > 1 << 20) {
            buffer.removeSubrange(0..<keepFrom)
            consumedTotal += Int64(keepFrom)
            position -= keepFrom
            recordStart -= keepFrom
        }
    }

    public func finish() throws {
        switch phase {
        case .done:
            return
        case .start where buffer.allSatisfy(Self.isSpace):
            throw CloudspoolError(.format, "not a CloudTrail log file: it is empty")
        default:
            if !sawArray && phase != .inRecord {
                throw CloudspoolError(.format, "not a CloudTrail log file: the JSON ends before a \"\(String(decoding: arrayKey, as: UTF8.self))\" array was complete (truncated?)")
            }
            throw CloudspoolError(.format, "not a CloudTrail log file: the JSON ends in the middle (truncated after \(recordCount) complete records)")
        }
    }

    private mutating func scan(emit: (UnsafeRawBufferPointer, Scanned) throws -> Void) throws {
        let count = buffer.count
        var i = position
        defer { position = i }
        while i < count {
            let c = buffer[i]
            switch phase {
            case .start:
                if Self.isSpace(c) { i += 1; continue }
                if i == 0 && c == 0xEF { i += 1; continue }   // tolerate a UTF-8 byte order mark
                if c == 0xBB || c == 0xBF { i += 1; continue }
                guard c == UInt8(ascii: "{") else { position = i; throw fail("expected '{' at the start") }
                phase = .beforeKey
                i += 1
            case .beforeKey:
                if Self.isSpace(c) || c == UInt8(ascii: ",") { i += 1; continue }
                if c == UInt8(ascii: "}") {
                    phase = .done
                    i += 1
                    if !sawArray { position = i; throw fail("the document has no \"\(String(decoding: arrayKey, as: UTF8.self))\" array") }
                    continue
                }
                guard c == UInt8(ascii: "\"") else { position = i; throw fail("expected a key") }
                key.removeAll(keepingCapacity: true)
                keyEscaped = false
                phase = .inKey
                i += 1
            case .inKey:
                if keyEscaped { key.append(c); keyEscaped = false; i += 1; continue }
                if c == UInt8(ascii: "\\") { keyEscaped = true; key.append(c); i += 1; continue }
                if c == UInt8(ascii: "\"") { phase = .afterKey; i += 1; continue }
                key.append(c)
                i += 1
            case .afterKey:
                if Self.isSpace(c) { i += 1; continue }
                guard c == UInt8(ascii: ":") else { position = i; throw fail("expected ':' after a key") }
                phase = .beforeValue
                i += 1
            case .beforeValue:
                if Self.isSpace(c) { i += 1; continue }
                if key == arrayKey {
                    guard c == UInt8(ascii: "[") else { position = i; throw fail("\"\(String(decoding: arrayKey, as: UTF8.self))\" is not an array") }
                    sawArray = true
                    phase = .arrayBeforeElement
                    i += 1
                } else {
                    depth = 0
                    inString = false
                    escaped = false
                    phase = .skippingValue
                }
            case .skippingValue:
                if inString {
                    if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false; if depth == 0 { phase = .afterValue } }
                    i += 1
                    continue
                }
                switch c {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { phase = .afterValue; continue }   // a scalar ended by the closing brace
                    depth -= 1
                    if depth == 0 { phase = .afterValue }
                case UInt8(ascii: ","):
                    if depth == 0 { phase = .afterValue; continue }
                default: break
                }
                i += 1
            case .afterValue:
                if Self.isSpace(c) { i += 1; continue }
                if c == UInt8(ascii: ",") { phase = .beforeKey; i += 1; continue }
                if c == UInt8(ascii: "}") {
                    phase = .done
                    i += 1
                    if !sawArray { position = i; throw fail("the document has no \"\(String(decoding: arrayKey, as: UTF8.self))\" array") }
                    continue
                }
                position = i
                throw fail("expected ',' or '}' after a value")
            case .arrayBeforeElement, .arrayAfterElement:
                if Self.isSpace(c) { i += 1; continue }
                if c == UInt8(ascii: "]") { phase = .afterValue; i += 1; continue }
                if c == UInt8(ascii: ",") {
                    guard phase == .arrayAfterElement else { position = i; throw fail("unexpected ',' in the records array") }
                    phase = .arrayBeforeElement
                    i += 1
                    continue
                }
                guard phase == .arrayBeforeElement else { position = i; throw fail("expected ',' between records") }
                guard c == UInt8(ascii: "{") else { position = i; throw fail("a record is not a JSON object") }
                recordStart = i
                phase = .inRecord
                // Validate the record and find its end in one scan; most records are whole in the buffer.
                var members = self.members
                self.members = []
                let start = i
                let scanned = buffer.withUnsafeBufferPointer { p -> Result<Int, JSONObjectScanner.Failure> in
                    do throws(JSONObjectScanner.Failure) {
                        return .success(try JSONObjectScanner.object(in: p, at: start, into: &members))
                    } catch {
                        return .failure(error)
                    }
                }
                if case .success(let end) = scanned {
                    try emitRecord(end: end, scanned: .success(members), emit: emit)
                    self.members = members
                    i = end
                    continue
                }
                self.members = members
                // Not whole in the buffer yet, or not valid JSON: delimit it by its braces, then validate it again.
                depth = 1
                inString = false
                escaped = false
                i += 1
            case .inRecord:
                // A record the one-pass scan could not take: find its end by its braces (strings skipped).
                let end: Int? = buffer.withUnsafeBufferPointer { p -> Int? in
                    var j = i
                    var depth = self.depth
                    var inString = self.inString
                    var escaped = self.escaped
                    defer { self.depth = depth; self.inString = inString; self.escaped = escaped; i = j }
                    if escaped, j < count {
                        // The byte after a backslash that ended the previous chunk.
                        escaped = false
                        j += 1
                    }
                    let base = p.baseAddress!
                    while j < count {
                        if inString {
                            // Inside a string only a backslash (skip the next byte) or a quote matters:
                            // the plain run between them is skipped eight bytes at a time.
                            j = ByteScan.quoteOrBackslash(base, from: j, end: count)
                            guard j < count else { break }
                            let b = p[j]
                            j += 1
                            if b == 92 {
                                if j < count { j += 1 } else { escaped = true }
                            } else {
                                inString = false
                            }
                            continue
                        }
                        let b = p[j]
                        j += 1
                        if b == 34 {
                            inString = true
                        } else if b == 123 || b == 91 {
                            depth += 1
                        } else if b == 125 || b == 93 {
                            depth -= 1
                            if depth == 0 { return j }
                        }
                    }
                    return nil
                }
                if let end {
                    var members = self.members
                    self.members = []
                    let start = recordStart
                    let scanned: Scanned = buffer.withUnsafeBytes { raw -> Scanned in
                        do throws(JSONObjectScanner.Failure) {
                            try JSONObjectScanner.members(of: UnsafeRawBufferPointer(rebasing: raw[start..<end]), into: &members)
                            return .success(members)
                        } catch {
                            return .failure(error)
                        }
                    }
                    try emitRecord(end: end, scanned: scanned, emit: emit)
                    if case .success(let kept) = scanned { self.members = kept }
                }
            case .done:
                if Self.isSpace(c) { i += 1; continue }
                position = i
                throw fail("unexpected data after the end of the document")
            }
        }
    }

    /// Hands the record from `recordStart` to `end` to `emit` and moves on to the next element.
    private mutating func emitRecord(end: Int, scanned: Scanned, emit: (UnsafeRawBufferPointer, Scanned) throws -> Void) throws {
        largestRecord = max(largestRecord, end - recordStart)
        recordCount += 1
        phase = .arrayAfterElement
        let start = recordStart
        try buffer.withUnsafeBytes { raw in
            try emit(UnsafeRawBufferPointer(rebasing: raw[start..<end]), scanned)
        }
    }
}
