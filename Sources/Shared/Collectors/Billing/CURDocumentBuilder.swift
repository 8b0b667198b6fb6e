/// Turns one CSV row of a Cost & Usage Report into a `_bulk` action line and
/// a document: nested objects per column category, numbers as JSON numbers
/// (their decimal text kept exactly), dates in ISO 8601 UTC, empty values left out.
public struct CURDocumentBuilder {
    let plan: CURColumnPlan
    private let actionPrefix: [UInt8]
    private let documentSuffix: [UInt8]
    private let periodStart: String
    private var scratch: [UInt8] = []

    /// `part` numbers the report file within the revision; ids are `<part>-<row>`.
    /// `runID` and `rawFile` (the report file's path inside the raw run) are the document's provenance.
    public init(plan: CURColumnPlan, physicalIndex: String, part: Int, periodSuffix: String, periodStart: String, revision: String, reportKey: String,
                runID: String? = nil, rawFile: String? = nil) {
        self.plan = plan
        var action: [UInt8] = []
        action.append(contentsOf: #"{"index":{"_index":"#.utf8)
        JSONText.appendString(physicalIndex, to: &action)
        action.append(contentsOf: #","_id":"\#(part)-"#.utf8)
        actionPrefix = action
        var suffix: [UInt8] = []
        suffix.append(contentsOf: #""cloudspool":{"billing_period":"#.utf8)
        JSONText.appendString(periodSuffix, to: &suffix)
        suffix.append(contentsOf: #","revision":"#.utf8)
        JSONText.appendString(revision, to: &suffix)
        suffix.append(contentsOf: #","report_file":"#.utf8)
        JSONText.appendString(reportKey, to: &suffix)
        if let runID, let rawFile {
            suffix.append(contentsOf: #","run_id":"#.utf8)
            JSONText.appendString(runID, to: &suffix)
            suffix.append(contentsOf: #","raw_file":"#.utf8)
            JSONText.appendString(rawFile, to: &suffix)
        }
        suffix.append(UInt8(ascii: "}"))
        documentSuffix = suffix
        self.periodStart = periodStart
    }

    /// Appends the two lines for `row` (the `rowNumber`-th data row of its file).
    public mutating func append(row: CSVStreamParser.Row, rowNumber: Int, to out: inout [UInt8]) throws {
        guard row.count == plan.columns.count else {
            throw CloudspoolError(.format, "CSV line \(row.line) has \(row.count) columns, the header has \(plan.columns.count)")
        }
        out.append(contentsOf: actionPrefix)
        out.append(contentsOf: String(rowNumber).utf8)
        out.append(contentsOf: "\"}}\n".utf8)

        out.append(contentsOf: #"{"@timestamp":"#.utf8)
        if let i = plan.usageStart, !row.isEmpty(i), Self.appendISODate(row.rawBytes(i), to: &out) {
            // written from the cell's bytes
        } else {
            JSONText.appendString(periodStart, to: &out)
        }
        out.append(contentsOf: #","cloud":{"provider":"aws""#.utf8)
        if let i = plan.usageAccount, !row.isEmpty(i) {
            out.append(contentsOf: #","account":{"id":"#.utf8)
            scratch.removeAll(keepingCapacity: true)
            row.appendValue(i, to: &scratch)
            scratch.withUnsafeBufferPointer { var budget = Int.max; out.append(34); JSONText.appendEscapedContent($0, limit: &budget, to: &out); out.append(34) }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "},".utf8)
        out.append(contentsOf: documentSuffix)

        for (group, members) in plan.layout {
            var opened = false
            for i in members where !row.isEmpty(i) {
                let column = plan.columns[i]!
                if let group {
                    if !opened {
                        out.append(UInt8(ascii: ","))
                        JSONText.appendString(group, to: &out)
                        out.append(contentsOf: ":{".utf8)
                        opened = true
                    } else {
                        out.append(UInt8(ascii: ","))
                    }
                } else {
                    out.append(UInt8(ascii: ","))
                }
                JSONText.appendString(column.field, to: &out)
                out.append(UInt8(ascii: ":"))
                try appendValue(row, i, column, to: &out)
            }
            if opened { out.append(UInt8(ascii: "}")) }
        }
        out.append(contentsOf: "}\n".utf8)
    }

    private mutating func appendValue(_ row: CSVStreamParser.Row, _ i: Int, _ column: CURColumnPlan.Column, to out: inout [UInt8]) throws {
        switch column.kind {
        case .number:
            let raw = row.rawBytes(i)
            guard Self.appendNumber(raw, to: &out) else {
                throw CloudspoolError(.format, "CSV line \(row.line): column \(column.header) should hold a number, not '\(String(decoding: raw.prefix(40), as: UTF8.self))'")
            }
        case .date:
            if !Self.appendISODate(row.rawBytes(i), to: &out) {
                let text = row.string(i)
                JSONText.appendString(Self.isoDate(text) ?? text, to: &out)
            }
        case .map:
            scratch.removeAll(keepingCapacity: true)
            row.appendValue(i, to: &scratch)
            let isObject = scratch.withUnsafeBytes { (try? JSONObjectScanner.members(of: $0)) != nil }
            if isObject {
                out.append(contentsOf: scratch)
            } else {
                scratch.withUnsafeBufferPointer { var budget = Int.max; out.append(34); JSONText.appendEscapedContent($0, limit: &budget, to: &out); out.append(34) }
            }
        case .string:
            scratch.removeAll(keepingCapacity: true)
            row.appendValue(i, to: &scratch)
            scratch.withUnsafeBufferPointer { var budget = Int.max; out.append(34); JSONText.appendEscapedContent($0, limit: &budget, to: &out); out.append(34) }
        }
    }

    /// Appends a decimal number as JSON (`.5` -> `0.5`, `+1` -> `1`, `5.` -> `5`); false when it is not a number.
    static func appendNumber(_ raw: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) -> Bool {
        var i = 0
        let n = raw.count
        if i < n && (raw[i] == 43 || raw[i] == 45) {
            if raw[i] == 45 { out.append(45) }
            i += 1
        }
        let intStart = i
        while i < n && raw[i] >= 48 && raw[i] <= 57 { i += 1 }
        var intDigits = raw[intStart..<i]
        // JSON has no leading zeros: drop them, keeping one.
        while intDigits.count > 1 && intDigits.first == 48 { intDigits = intDigits.dropFirst() }
        var fraction: Slice<UnsafeBufferPointer<UInt8>>?
        if i < n && raw[i] == 46 {
            i += 1
            let f = i
            while i < n && raw[i] >= 48 && raw[i] <= 57 { i += 1 }
            fraction = raw[f..<i]
        }
        guard !intDigits.isEmpty || !(fraction?.isEmpty ?? true) else { return false }
        if intDigits.isEmpty { out.append(48) } else { out.append(contentsOf: intDigits) }
        if let fraction, !fraction.isEmpty {
            out.append(46)
            out.append(contentsOf: fraction)
        }
        if i < n && (raw[i] == 101 || raw[i] == 69) {
            out.append(101)
            i += 1
            if i < n && (raw[i] == 43 || raw[i] == 45) { out.append(raw[i]); i += 1 }
            let e = i
            while i < n && raw[i] >= 48 && raw[i] <= 57 { i += 1 }
            guard i > e else { return false }
            out.append(contentsOf: raw[e..<i])
        }
        return i == n
    }

    /// Appends `"<ISO 8601 UTC>"` for a cell holding a full timestamp with a zone (the common
    /// case, done on the bytes without building strings); false when the cell is anything else.
    static func appendISODate(_ raw: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) -> Bool {
        guard let time = Timestamp.parse(raw) else { return false }
        out.append(34)
        time.appendCanonical(to: &out)
        out.append(34)
        return true
    }

    /// `2026-11-01T00:00:00Z`, `2026-11-01T00:00:00.000Z`, `2026-11-01 00:00:00` -> ISO 8601 UTC.
    static func isoDate(_ text: String) -> String? {
        if let t = Timestamp.parse(Array(text.utf8)[...]) { return t.canonical }
        if let t = Timestamp.parse(Array((text + "Z").utf8)[...]) { return t.canonical }
        if let day = UTCDate.parseDay(text) { return UTCDate.iso8601(day) }
        return nil
    }
}
