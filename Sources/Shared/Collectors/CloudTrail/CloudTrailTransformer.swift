import Foundation
import Logging

/// The CloudTrail transform: every raw run fetch finished, in order, becomes
/// NDJSON `_bulk` files; bad files go to quarantine, bad records to a
/// `.rejected.ndjson` beside them, and the rest proceeds.
public final class CloudTrailTransformer: CollectorTransform {
    public static let collector = CloudTrailFetcher.collector

    let layout: SpoolLayout
    let builder: CloudTrailDocumentBuilder
    let maxFileBytes: Int
    let clock: RuntimeClock
    let logger: Logger
    let quarantine: Quarantine
    /// How long the resource events of changing calls are kept for the inventory's change feed.
    let resourceEventDays: Int

    public init(context: StageContext) {
        self.layout = context.layout
        self.builder = CloudTrailDocumentBuilder(indexStem: context.naming.cloudtrailStem)
        self.maxFileBytes = context.maxFileBytes
        self.clock = context.clock
        self.logger = context.logger
        self.quarantine = Quarantine(layout: context.layout, stage: "transform")
        self.resourceEventDays = context.config.retention.rawDays
    }

    /// Transforms every pending raw run and checkpoints each.
    public func run(report: inout RunReport) throws {
        let pending = PendingRawRuns(layout: layout, collector: Self.collector)
        let runs = try pending.folders()
        if !runs.isEmpty {
            logger.info("transforming", metadata: ["runs": "\(runs.count)"])
        }
        for (n, run) in runs.enumerated() {
            try StopRequest.checkpoint("before raw run \(run.lastPathComponent)")
            if try pending.setAsideIfNotARun(run, report: &report) { continue }
            try transform(runFolder: run, only: nil, outputName: run.lastPathComponent, report: &report)
            try pending.markDone(run)
            logger.info("raw run transformed", metadata: ["run": "\(run.lastPathComponent)", "progress": "\(n + 1)/\(runs.count)"])
        }
        try pruneResourceEvents(olderThanDays: resourceEventDays)
    }

    /// Transforms a raw run folder, one file of it, or any CloudTrail `.json.gz`
    /// file again, whatever the checkpoint says. The output gets new file
    /// names (so load sends it), with the same documents and ids.
    public func replay(path: URL, report: inout RunReport) throws {
        let replayName = "replay-" + RunID(date: clock.now()).value
        if SpoolFiles.isDirectory(path) {
            guard FileManager.default.fileExists(atPath: path.appendingPathComponent(RawRunManifest.fileName).path) else {
                throw CloudspoolError(.configuration, "\(path.path) is not a raw run folder (it has no manifest.json)")
            }
            try transform(runFolder: path, only: nil, outputName: "\(path.lastPathComponent).\(replayName)", report: &report)
            return
        }
        guard FileManager.default.fileExists(atPath: path.path) else {
            throw CloudspoolError(.configuration, "\(path.path) does not exist")
        }
        // A file inside a raw run: use the run's manifest for its key, account and region.
        var folder = path.deletingLastPathComponent()
        while folder.path != "/" {
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(RawRunManifest.fileName).path) {
                let relative = String(path.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1))
                try transform(runFolder: folder, only: relative, outputName: "\(folder.lastPathComponent).\(replayName)", report: &report)
                return
            }
            folder = folder.deletingLastPathComponent()
        }
        // A file from elsewhere (a quarantined one, a copy): its key is the path after AWSLogs' parent.
        let key = path.path.range(of: "AWSLogs/").map { String(path.path[$0.lowerBound...]) } ?? path.lastPathComponent
        let parsed = CloudTrailKey(key: key)
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: replayName, maxFileBytes: maxFileBytes)
        do {
            var unusedEvents: [UInt8] = []
            let ok = try transformFile(path, key: key, account: parsed?.account, region: parsed?.region, runID: replayName,
                                       relativePath: path.lastPathComponent, output: output, resourceEvents: &unusedEvents,
                                       moveToQuarantine: false, report: &report)
            if ok { report.add("files") }
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }

    func transform(runFolder: URL, only: String?, outputName: String, report: inout RunReport) throws {
        let manifest = try RawRunManifest.read(runFolder: runFolder)
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: outputName, maxFileBytes: maxFileBytes)
        // Replays (outputName differs from the run's name) leave the state of the regular runs alone.
        let regular = only == nil && outputName == runFolder.lastPathComponent
        var resourceEvents: [UInt8] = []
        do {
            for entry in manifest.entries where only == nil || entry.path == only {
                try StopRequest.checkpoint("in raw run \(manifest.runId)")
                let url = runFolder.appendingPathComponent(entry.path)
                guard FileManager.default.fileExists(atPath: url.path) else {
                    let quarantined = quarantine.location(runID: manifest.runId, relativePath: entry.path)
                    if FileManager.default.fileExists(atPath: quarantined.path) { continue }   // set aside by an earlier run
                    report.errors.append("\(url.path) is listed in the manifest but missing; it was removed by hand? Fetch it again or remove it from the manifest")
                    continue
                }
                let key = entry.parameters["Key"] ?? entry.path
                do {
                    try entry.verify(in: runFolder)
                } catch let mismatch as RawFileMismatch {
                    var message = "\(key) of raw run \(manifest.runId): \(mismatch.reason); not transformed"
                    if only == nil {
                        let target = try quarantine.add(file: url, runID: manifest.runId, relativePath: entry.path, reason: mismatch.description)
                        message += "; moved to \(target.path)"
                    }
                    report.errors.append(message)
                    report.add("quarantined")
                    continue
                }
                if try transformFile(url, key: key, account: entry.account, region: entry.region, runID: manifest.runId,
                                     relativePath: entry.path, provenance: CloudTrailDocumentBuilder.provenance(runID: manifest.runId, rawFile: entry.path),
                                     output: output, resourceEvents: &resourceEvents, moveToQuarantine: only == nil, report: &report) {
                    report.add("files")
                }
                try output.rotateIfFull()
            }
            let files = try output.commit()
            report.add("ndjson_files", Int64(files.count))
        } catch {
            output.discard()
            throw error
        }
        if regular {
            let target = ResourceEventIndex.folder(layout).appendingPathComponent("\(runFolder.lastPathComponent).ndjson")
            if resourceEvents.isEmpty {
                try SpoolFiles.remove(target)
            } else {
                try SpoolFiles.writeAtomically(Data(resourceEvents), to: target)
            }
        }
    }

    /// Removes the resource events of raw runs older than `days` (the change feed only looks a run back).
    func pruneResourceEvents(olderThanDays days: Int) throws {
        let folder = ResourceEventIndex.folder(layout)
        let cutoff = clock.now().addingTimeInterval(-Double(max(days, 2)) * 86_400)
        for name in SpoolFiles.list(folder) {
            if name.hasPrefix(".tmp-") { try SpoolFiles.remove(folder.appendingPathComponent(name)); continue }
            guard let run = RunID(String(name.prefix { $0 != "." })), let date = run.date, date < cutoff else { continue }
            try SpoolFiles.remove(folder.appendingPathComponent(name))
        }
    }

    /// One log file into `output`. Returns false when the file was quarantined.
    func transformFile(_ url: URL, key: String, account: String?, region: String?, runID: String, relativePath: String, provenance: [UInt8] = [],
                       output: NDJSONOutput, resourceEvents: inout [UInt8], moveToQuarantine: Bool, report: inout RunReport) throws -> Bool {
        let mark = try output.mark()
        let eventsMark = resourceEvents.count
        var splitter = JSONRecordsSplitter()
        var pending: [UInt8] = []
        pending.reserveCapacity(1 << 20)
        var records: Int64 = 0
        var documents: Int64 = 0
        let rejected = RejectedRecordsFile(target: quarantine.rejectedRecordsURL(runID: runID, relativePath: relativePath))
        var repairedRecords: Int64 = 0
        let builder = self.builder
        do {
            try GzipDecoder.decodeFile(url) { chunk in
                try splitter.feed(chunk) { record in
                    records += 1
                    do {
                        if UTF8Repair.isValid(record) {
                            try builder.append(record: record, fileKey: key, account: account, region: region, provenance: provenance,
                                               to: &pending, resourceEvents: &resourceEvents)
                        } else {
                            // Invalid UTF-8 inside a string: each bad byte becomes U+FFFD, and the record is counted.
                            let fixed = UTF8Repair.repaired(record).bytes
                            try fixed.withUnsafeBytes {
                                try builder.append(record: $0, fileKey: key, account: account, region: region, provenance: provenance,
                                                   to: &pending, resourceEvents: &resourceEvents)
                            }
                            repairedRecords += 1
                        }
                        documents += 1
                    } catch let error as CloudTrailDocumentBuilder.Rejection {
                        try rejected.append(reason: error.reason, file: key, record: record)
                    }
                    if pending.count >= 1 << 20 {
                        try output.write(pending)
                        pending.removeAll(keepingCapacity: true)
                    }
                }
            }
            try splitter.finish()
            try output.write(pending)
        } catch let error as CloudspoolError where error.code == .decompression || error.code == .format {
            try output.rollback(to: mark)
            rejected.discard()
            resourceEvents.removeSubrange(eventsMark...)
            let reason = "\(error.message) [file \(key), \(SpoolFiles.size(url)) bytes, from raw run \(runID)]"
            if moveToQuarantine {
                let target = try quarantine.add(file: url, runID: runID, relativePath: relativePath, reason: reason)
                report.errors.append("quarantined \(key): \(error.message); see \(target.path).reason")
            } else {
                report.errors.append("\(key) cannot be transformed: \(error.message)")
            }
            report.add("quarantined")
            logger.error("file quarantined", metadata: ["key": "\(key)", "reason": "\(error.message)"])
            return false
        }
        if rejected.count > 0 {
            try rejected.commit()
            report.errors.append("\(rejected.count) record(s) of \(key) rejected; see \(rejected.target.path)")
            report.add("rejected", rejected.count)
        }
        if repairedRecords > 0 {
            logger.warning("invalid UTF-8 replaced by U+FFFD", metadata: ["key": "\(key)", "records": "\(repairedRecords)"])
            report.add("utf8_repaired", repairedRecords)
        }
        report.add("records", records)
        report.add("documents", documents)
        report.add("bytes", SpoolFiles.size(url))
        return true
    }
}
