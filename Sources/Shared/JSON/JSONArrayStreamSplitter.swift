/// Splits a stream holding one JSON array (`[e1, e2, …]`) into the bytes of
/// each element, without parsing the elements and without holding more than
/// the element being read: a livestatus answer (an array of rows) or an OP5
/// API page (an array of objects) of any size is read in fixed memory.
///
/// Feed it chunks as they come; `emit` gets each element's bytes (scalars,
/// arrays and objects alike, surrounding whitespace trimmed). `finish()`
/// checks that the array was closed. The element bytes are only split, not
/// validated: parse each with `JSONValueParser`. Structure errors throw
/// `CloudspoolError(.format)` saying where.
public struct JSONArrayStreamSplitter {
    private enum Phase { case start, firstElement, nextElement, inElement, done }

    /// The largest element accepted; a longer one is an error (garbage, not a host).
    public let maxElementBytes: Int
    private var phase = Phase.start
    private var buffer: [UInt8] = []
    private var position = 0
    private var elementStart = 0
    /// The brackets open inside the current element (`[` or `{`), innermost last.
    private var open: [UInt8] = []
    private var inString = false
    private var escaped = false
    private var consumedTotal: Int64 = 0
    /// Elements emitted so far.
    public private(set) var count = 0

    public init(maxElementBytes: Int = 16 << 20) {
        self.maxElementBytes = maxElementBytes
    }

    private func fail(_ what: String) -> CloudspoolError {
        CloudspoolError(.format, "not a JSON array: \(what) at byte \(consumedTotal + Int64(position))")
    }

    @inline(__always)
    private static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 10 || c == 13 || c == 9 }

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        buffer.append(contentsOf: chunk)
        try scan(emit: emit)
        let keep = phase == .inElement ? elementStart : position
        if keep > 0 {
            buffer.removeFirst(keep)
            consumedTotal += Int64(keep)
            position -= keep
            if phase == .inElement { elementStart = 0 }
        }
        if phase == .inElement && buffer.count > maxElementBytes {
            throw fail("an element longer than \(maxElementBytes) bytes")
        }
    }

    public mutating func feed(_ bytes: [UInt8], emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { try feed($0, emit: emit) }
    }

    /// Checks that the whole array was seen.
    public func finish() throws {
        guard phase == .done else {
            throw CloudspoolError(.format, "not a JSON array: the data ends before the array is closed (\(count) elements read; truncated?)")
        }
    }

    private mutating func scan(emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        while position < buffer.count {
            let c = buffer[position]
            switch phase {
            case .start:
                if Self.isSpace(c) { position += 1; continue }
                guard c == UInt8(ascii: "[") else { throw fail("it does not start with '['") }
                position += 1
                phase = .firstElement
            case .firstElement, .nextElement:
                if Self.isSpace(c) { position += 1; continue }
                if c == UInt8(ascii: "]") {
                    guard phase == .firstElement else { throw fail("']' after ','") }
                    position += 1
                    phase = .done
                    continue
                }
                if c == UInt8(ascii: ",") { throw fail("',' where an element should be") }
                elementStart = position
                open.removeAll(keepingCapacity: true)
                inString = false
                escaped = false
                phase = .inElement
            case .inElement:
                if inString {
                    if escaped { escaped = false } else if c == 92 { escaped = true } else if c == 34 { inString = false }
                    position += 1
                    continue
                }
                switch c {
                case 34:
                    inString = true
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    open.append(c)
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    if let last = open.last {
                        guard last == c - 2 else { throw fail("'\(Character(Unicode.Scalar(c)))' closes a '\(Character(Unicode.Scalar(last)))'") }
                        open.removeLast()
                    } else {
                        guard c == UInt8(ascii: "]") else { throw fail("unbalanced '}'") }
                        try emitElement(end: position, emit: emit)
                        phase = .done
                    }
                case UInt8(ascii: ","):
                    if open.isEmpty {
                        try emitElement(end: position, emit: emit)
                        phase = .nextElement
                    }
                default:
                    break
                }
                position += 1
            case .done:
                guard Self.isSpace(c) else { throw fail("data after the closing ']'") }
                position += 1
            }
        }
    }

    private mutating func emitElement(end: Int, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var last = end
        while last > elementStart && Self.isSpace(buffer[last - 1]) { last -= 1 }
        guard last > elementStart else { throw fail("an empty element") }
        count += 1
        try buffer.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[elementStart..<last])) }
    }
}
