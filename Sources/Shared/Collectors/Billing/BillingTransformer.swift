import Foundation
import Logging

/// The billing transform: every fetched report revision becomes NDJSON for
/// its own index plus a revision file; a revision with bad input (truncated
/// gzip, a row with the wrong number of columns, a value that is not of its
/// column's type) is set aside whole, so the previous revision stays in place.
public final class BillingTransformer: RawRunTransform {
    public static let collector = BillingFetcher.collector

    public let layout: SpoolLayout
    let naming: IndexNaming
    let maxFileBytes: Int
    public let clock: RuntimeClock
    let logger: Logger

    public init(context: StageContext) {
        self.layout = context.layout
        self.naming = context.naming
        self.maxFileBytes = context.maxFileBytes
        self.clock = context.clock
        self.logger = context.logger
    }

    public func transform(runFolder: URL, outputName: String, replay: Bool, report: inout RunReport) throws {
        let quarantineOnError = !replay
        let run = try RawRunManifest.read(runFolder: runFolder)
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: outputName, maxFileBytes: maxFileBytes)
        do {
            guard let manifestEntry = run.entries.first(where: { $0.parameters["Role"] == "cur-manifest" }) else {
                throw CloudspoolError(.format, "the raw run has no report manifest")
            }
            let key = manifestEntry.parameters["Key"] ?? manifestEntry.path
            let format = CURManifest.Format(rawValue: manifestEntry.parameters["Format"] ?? "legacy") ?? .legacy
            // A revision is all or nothing: any file that is not what fetch stored sets the whole revision aside.
            for entry in run.entries {
                do {
                    try entry.verify(in: runFolder)
                } catch let mismatch as RawFileMismatch {
                    throw CloudspoolError(.format, mismatch.description)
                }
            }
            let manifest = try CURManifest.parse(try Data(contentsOf: runFolder.appendingPathComponent(manifestEntry.path)), format: format, key: key)
            try manifest.checkSupported(key: key)
            let physical = "\(naming.billingRevisionStem)-\(manifest.periodSuffix)-\(BillingRevision.indexSafe(manifest.revisionId))"
            var documents: Int64 = 0
            var mappings: [String: Any]?
            let reports = run.entries.filter { $0.parameters["Role"] == "cur-report" }
                .sorted { Int($0.parameters["Part"] ?? "") ?? 0 < Int($1.parameters["Part"] ?? "") ?? 0 }
            for (part, entry) in reports.enumerated() {
                let reportKey = entry.parameters["Key"] ?? entry.path
                let url = runFolder.appendingPathComponent(entry.path)
                var parser = CSVStreamParser()
                var builder: CURDocumentBuilder?
                var pending: [UInt8] = []
                pending.reserveCapacity(1 << 20)
                var rowNumber = 0
                let handleRow: (CSVStreamParser.Row) throws -> Void = { row in
                    guard builder != nil else {
                        let header = (0..<row.count).map { row.string($0) }
                        let plan = CURColumnPlan(header: header, manifest: manifest)
                        if mappings == nil { mappings = plan.mappings }
                        builder = CURDocumentBuilder(plan: plan, physicalIndex: physical, part: part, periodSuffix: manifest.periodSuffix,
                                                     periodStart: UTCDate.iso8601(manifest.periodStart), revision: manifest.revisionId, reportKey: reportKey,
                                                     runID: run.runId, rawFile: entry.path)
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
                documents += Int64(rowNumber)
                report.add("files")
                report.add("bytes", entry.size)
                try output.rotateIfFull()
            }
            let files = try output.commit()
            let mappingsData = try JSONSerialization.data(withJSONObject: mappings ?? ["properties": [:]], options: [.sortedKeys])
            let revision = BillingRevision(runId: outputName, period: manifest.periodSuffix, revision: manifest.revisionId, format: format.rawValue,
                                           physicalIndex: physical, alias: "\(naming.billingStem)-\(manifest.periodSuffix)", documents: documents,
                                           files: files.map(\.lastPathComponent), mappingsJSON: String(decoding: mappingsData, as: UTF8.self))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try SpoolFiles.writeAtomically(try encoder.encode(revision), to: layout.ndjson(Self.collector).appendingPathComponent(outputName + BillingRevision.suffix))
            report.add("records", documents)
            report.add("documents", documents)
            report.add("ndjson_files", Int64(files.count))
            logger.info("report revision transformed", metadata: ["period": "\(manifest.periodSuffix)", "revision": "\(manifest.revisionId)", "documents": "\(documents)"])
        } catch let error as CloudspoolError where error.code == .format || error.code == .decompression {
            output.discard()
            guard quarantineOnError else { throw error }
            let target = layout.quarantine("transform").appendingPathComponent(run.runId, isDirectory: true)
            let reason = "\(error.message) [billing raw run \(run.runId)]; the whole revision is set aside and the previous revision stays in the index"
            try SpoolFiles.move(runFolder, to: target)
            try SpoolFiles.writeAtomically(Data((reason + "\n").utf8), to: target.appendingPathExtension("reason"))
            report.errors.append("quarantined billing run \(run.runId): \(error.message); see \(target.path).reason")
            report.add("quarantined")
        } catch {
            output.discard()
            throw error
        }
    }
}
