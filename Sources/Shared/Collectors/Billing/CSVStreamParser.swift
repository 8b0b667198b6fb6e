/// An RFC 4180 CSV parser fed in chunks: quoted fields may hold commas,
/// doubled quotes and line breaks; rows end with LF or CRLF. It holds only
/// the row being read, so memory does not grow with the file.
public struct CSVStreamParser {
    /// One parsed row: field ranges into a buffer that is valid only during the callback.
    public struct Row {
        let bytes: UnsafeBufferPointer<UInt8>
        let ranges: [Range<Int>]
        let quoted: [Bool]
        /// 1-based line number where the row starts (for messages).
        public let line: Int

        public var count: Int { ranges.count }

        /// Whether field `i` is empty (`""` and nothing are both empty).
        public func isEmpty(_ i: Int) -> Bool {
            quoted[i] ? ranges[i].count <= 2 : ranges[i].isEmpty
        }

        /// The field's value with quoting undone, appended to `out`.
        public func appendValue(_ i: Int, to out: inout [UInt8]) {
            let r = ranges[i]
            guard quoted[i] else {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[r]))
                return
            }
            var k = r.lowerBound + 1
            let end = r.upperBound - 1
            while k < end {
                let c = bytes[k]
                out.append(c)
                k += (c == 34 && k + 1 < end && bytes[k + 1] == 34) ? 2 : 1
            }
        }

        /// The field's value as a string.
        public func string(_ i: Int) -> String {
            var out: [UInt8] = []
            appendValue(i, to: &out)
            return String(decoding: out, as: UTF8.self)
        }

        /// The raw bytes of an unquoted field (for numbers), or nil when quoted.
        public func rawBytes(_ i: Int) -> UnsafeBufferPointer<UInt8> {
            let r = ranges[i]
            return quoted[i] ? UnsafeBufferPointer(rebasing: bytes[(r.lowerBound + 1)..<(r.upperBound - 1)]) : UnsafeBufferPointer(rebasing: bytes[r])
        }
    }

    private var buffer: [UInt8] = []
    private var position = 0
    private var rowStart = 0
    private var fieldStart = 0
    private var inQuotes = false
    private var fieldQuoted = false
    private var ranges: [Range<Int>] = []
    private var quoted: [Bool] = []
    private var line = 1
    private var rowLine = 1
    private var started = false
    /// Rows emitted so far.
    public private(set) var rows = 0

    public init() {}

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, row: (Row) throws -> Void) throws {
        if !started {
            started = true
            // A UTF-8 byte order mark is not part of the first column's name.
            if chunk.count >= 3 && chunk[0] == 0xEF && chunk[1] == 0xBB && chunk[2] == 0xBF {
                buffer.append(contentsOf: chunk[3...])
                try scan(row: row, final: false)
                return
            }
        }
        buffer.append(contentsOf: chunk)
        try scan(row: row, final: false)
    }

    /// Emits a last row that has no line break after it; throws inside an open quote.
    public mutating func finish(row: (Row) throws -> Void) throws {
        try scan(row: row, final: true)
        if inQuotes {
            throw CloudspoolError(.format, "the CSV ends inside a quoted field that starts on line \(rowLine) (truncated?)")
        }
        if position > rowStart || !ranges.isEmpty {
            ranges.append(fieldStart..<position)
            quoted.append(fieldQuoted)
            try emit(end: position, row: row)
        }
    }

    private mutating func emit(end: Int, row: (Row) throws -> Void) throws {
        var last = ranges[ranges.count - 1]
        if !quoted[quoted.count - 1], last.upperBound > last.lowerBound, buffer[last.upperBound - 1] == 13 {
            last = last.lowerBound..<(last.upperBound - 1)   // CRLF
            ranges[ranges.count - 1] = last
        }
        let isBlank = ranges.count == 1 && ranges[0].isEmpty && !quoted[0]
        if !isBlank {
            rows += 1
            try buffer.withUnsafeBufferPointer { p in
                try row(Row(bytes: p, ranges: ranges, quoted: quoted, line: rowLine))
            }
        }
        ranges.removeAll(keepingCapacity: true)
        quoted.removeAll(keepingCapacity: true)
    }

    private mutating func scan(row: (Row) throws -> Void, final: Bool) throws {
        var i = position
        let count = buffer.count
        while i < count {
            let c = buffer[i]
            if inQuotes {
                if c == 34 {
                    if i + 1 < count {
                        if buffer[i + 1] == 34 { i += 2; continue }
                        inQuotes = false
                    } else if !final {
                        break   // a quote at the end of the chunk: wait for the next byte
                    } else {
                        inQuotes = false
                    }
                } else if c == 10 {
                    line += 1
                }
                i += 1
                continue
            }
            switch c {
            case 44:   // ,
                ranges.append(fieldStart..<i)
                quoted.append(fieldQuoted)
                fieldStart = i + 1
                fieldQuoted = false
            case 10:   // end of row
                ranges.append(fieldStart..<i)
                quoted.append(fieldQuoted)
                try emit(end: i, row: row)
                line += 1
                rowLine = line
                rowStart = i + 1
                fieldStart = i + 1
                fieldQuoted = false
            case 34:
                guard i == fieldStart else {
                    throw CloudspoolError(.format, "CSV line \(line): a quote inside an unquoted field")
                }
                inQuotes = true
                fieldQuoted = true
            default:
                if fieldQuoted {
                    // After the closing quote only a separator may follow (CR of CRLF too).
                    if !(c == 13 && i + 1 < count && buffer[i + 1] == 10) && !(c == 13 && i + 1 == count) {
                        throw CloudspoolError(.format, "CSV line \(line): characters after a closing quote")
                    }
                }
            }
            i += 1
        }
        position = i
        // Keep only the row in progress.
        if rowStart > 0 && (rowStart >= 1 << 16 || rowStart * 2 >= buffer.count) {
            let shift = rowStart
            buffer.removeSubrange(0..<shift)
            position -= shift
            fieldStart -= shift
            rowStart = 0
            for k in ranges.indices { ranges[k] = (ranges[k].lowerBound - shift)..<(ranges[k].upperBound - shift) }
        }
    }
}
