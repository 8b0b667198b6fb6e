import Foundation

/// One report file of a CUR revision; its documents in its own NDJSON files.
struct ReportPart: @unchecked Sendable {
    /// Its files, still under `.incoming/`: the revision's output adopts them in part order.
    let output: NDJSONOutput
    let documents: Int64
    /// The index mappings its header gives (the revision uses the first file's that has a header).
    let mappings: [String: Any]?
}

/// Turns one report file of a revision into `_bulk` lines, on one of the
/// transform's workers: the file is parsed as a stream (CSV, gzip or not)
/// and its documents go to files of its own, so several report files can be
/// transformed at once without holding their output in memory.
struct ReportPartTransform: @unchecked Sendable {
    let layout: SpoolLayout
    let collector: String
    let outputName: String
    let ndjson: NDJSONOutput.Settings
    let manifest: CURManifest
    let physicalIndex: String
    let runID: String
    let runFolder: URL

    func run(part: Int, entry: RawRunManifest.Entry) throws -> ReportPart {
        let reportKey = entry.parameters["Key"] ?? entry.path
        let url = runFolder.appendingPathComponent(entry.path)
        let output = try NDJSONOutput(layout: layout, collector: collector, baseName: "\(outputName).part\(part)", settings: ndjson)
        do {
            var parser = CSVStreamParser()
            var builder: CURDocumentBuilder?
            var mappings: [String: Any]?
            var pending: [UInt8] = []
            pending.reserveCapacity(1 << 20)
            var rowNumber = 0
            let handleRow: (CSVStreamParser.Row) throws -> Void = { row in
                guard builder != nil else {
                    let header = (0..<row.count).map { row.string($0) }
                    let plan = CURColumnPlan(header: header, manifest: manifest)
                    mappings = plan.mappings
                    builder = CURDocumentBuilder(plan: plan, physicalIndex: physicalIndex, part: part, periodSuffix: manifest.periodSuffix,
                                                 periodStart: UTCDate.iso8601(manifest.periodStart), revision: manifest.revisionId, reportKey: reportKey,
                                                 runID: runID, rawFile: entry.path)
                    return
                }
                rowNumber += 1
                try builder!.append(row: row, rowNumber: rowNumber, to: &pending)
                if pending.count >= 1 << 20 {
                    try output.write(pending)
                    pending.removeAll(keepingCapacity: true)
                    // A revision is all or nothing, so its files may be split anywhere between rows.
                    try output.rotateIfFull()
                }
            }
            do {
                if reportKey.hasSuffix(".gz") {
                    try GzipDecoder.decodeFile(url) { chunk in try parser.feed(chunk, row: handleRow) }
                } else {
                    try FileChunkReader.read(url) { chunk in try parser.feed(chunk, row: handleRow) }
                }
                try parser.finish(row: handleRow)
            } catch let error as CloudspoolError {
                throw CloudspoolError(error.code, "\(reportKey): \(error.message)", underlying: error.underlying)
            }
            try output.write(pending)
            return ReportPart(output: output, documents: Int64(rowNumber), mappings: mappings)
        } catch {
            output.discard()
            throw error
        }
    }
}
