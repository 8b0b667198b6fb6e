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
    let ndjson: NDJSONOutput.Settings
    public let clock: RuntimeClock
    let logger: Logger
    /// Report files of a revision transformed at once (`transform.workers`).
    let workers: Int

    public init(context: StageContext) {
        self.layout = context.layout
        self.naming = context.naming
        self.ndjson = context.ndjson
        self.clock = context.clock
        self.logger = context.logger
        self.workers = context.config.transform.workers
    }

    public func transform(runFolder: URL, outputName: String, replay: Bool, report: inout RunReport) throws {
        let quarantineOnError = !replay
        let run = try RawRunManifest.read(runFolder: runFolder)
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: outputName, settings: ndjson)
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
            let reports = run.entries.filter { $0.parameters["Role"] == "cur-report" }
                .sorted { Int($0.parameters["Part"] ?? "") ?? 0 < Int($1.parameters["Part"] ?? "") ?? 0 }
            // The report files on `workers` threads, each into its own files, adopted into the run's output in
            // part order as they finish: the NDJSON is the same for any number of workers, and the first bad file
            // in part order is the one reported (the files of parts made after it are removed).
            let reportPart = ReportPartTransform(layout: layout, collector: Self.collector, outputName: outputName, ndjson: ndjson,
                                                 manifest: manifest, physicalIndex: physical, runID: run.runId, runFolder: runFolder)
            var documents: Int64 = 0
            var mappings: [String: Any]?
            try OrderedWorkers.run(count: reports.count, workers: workers, ahead: workers,
                                   produce: { index in Result { try reportPart.run(part: index, entry: reports[index]) } },
                                   discard: { if case .success(let part) = $0 { part.output.discard() } }) { index, result in
                let part = try result.get()
                try output.adopt(part.output)
                documents += part.documents
                if mappings == nil { mappings = part.mappings }
                report.add("files")
                report.add("bytes", reports[index].size)
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
