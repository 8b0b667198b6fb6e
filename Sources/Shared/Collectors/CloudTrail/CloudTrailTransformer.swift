import Foundation
import Logging

/// The CloudTrail transform: every raw run fetch finished, in order, becomes
/// NDJSON `_bulk` files; bad files go to quarantine, bad records to a
/// `.rejected.ndjson` beside them, and the rest proceeds.
public final class CloudTrailTransformer: CollectorTransform {
    public static let collector = CloudTrailFetcher.collector

    let layout: SpoolLayout
    let builder: CloudTrailDocumentBuilder
    let ndjson: NDJSONOutput.Settings
    let clock: RuntimeClock
    let logger: Logger
    let quarantine: Quarantine
    /// How long the resource events of changing calls are kept for the inventory's change feed.
    let resourceEventDays: Int
    /// Log files transformed at once (`transform.workers`).
    let workers: Int
    /// The documents' buffers, reused from file to file (one per worker, one per result waiting, one being written).
    let buffers: ByteBufferPool

    public init(context: StageContext) {
        self.layout = context.layout
        self.builder = CloudTrailDocumentBuilder(indexStem: context.naming.cloudtrailStem)
        self.ndjson = context.ndjson
        self.clock = context.clock
        self.logger = context.logger
        self.quarantine = Quarantine(layout: context.layout, stage: "transform")
        self.resourceEventDays = context.config.retention.rawDays
        self.workers = context.config.transform.workers
        self.buffers = ByteBufferPool(keep: 2 * context.config.transform.workers + 1)
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
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: replayName, settings: ndjson)
        do {
            var unusedEvents: [UInt8] = []
            let job = CloudTrailFileTransform.Job(url: path, key: key, account: parsed?.account, region: parsed?.region, runID: replayName,
                                                  relativePath: path.lastPathComponent, entry: nil, runFolder: nil)
            let ok = try write(CloudTrailFileTransform(builder: builder, quarantine: quarantine, buffers: buffers).run(job), job: job, output: output,
                               resourceEvents: &unusedEvents, moveToQuarantine: false, report: &report)
            if ok { report.add("files") }
            try output.commit()
        } catch {
            output.discard()
            throw error
        }
    }

    func transform(runFolder: URL, only: String?, outputName: String, report: inout RunReport) throws {
        let manifest = try RawRunManifest.read(runFolder: runFolder)
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: outputName, settings: ndjson)
        // Replays (outputName differs from the run's name) leave the state of the regular runs alone.
        let regular = only == nil && outputName == runFolder.lastPathComponent
        var resourceEvents: [UInt8] = []
        do {
            var jobs: [CloudTrailFileTransform.Job] = []
            for entry in manifest.entries where only == nil || entry.path == only {
                let url = runFolder.appendingPathComponent(entry.path)
                guard FileManager.default.fileExists(atPath: url.path) else {
                    let quarantined = quarantine.location(runID: manifest.runId, relativePath: entry.path)
                    if FileManager.default.fileExists(atPath: quarantined.path) { continue }   // set aside by an earlier run
                    report.errors.append("\(url.path) is listed in the manifest but missing; it was removed by hand? Fetch it again or remove it from the manifest")
                    continue
                }
                jobs.append(.init(url: url, key: entry.parameters["Key"] ?? entry.path, account: entry.account, region: entry.region,
                                  runID: manifest.runId, relativePath: entry.path, entry: entry, runFolder: runFolder))
            }
            // Files are transformed on `workers` threads while this one writes their results in the manifest's order.
            let file = CloudTrailFileTransform(builder: builder, quarantine: quarantine, buffers: buffers)
            let jobList = jobs
            try OrderedWorkers.run(count: jobs.count, workers: workers, ahead: 4 * workers, produce: { file.run(jobList[$0]) }) { index, outcome in
                try StopRequest.checkpoint("in raw run \(manifest.runId)")
                if try write(outcome, job: jobs[index], output: output, resourceEvents: &resourceEvents, moveToQuarantine: only == nil, report: &report) {
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
        for name in SpoolFiles.temporaries(folder) {
            try SpoolFiles.remove(folder.appendingPathComponent(name))
        }
        for name in SpoolFiles.list(folder) {
            guard let run = RunID(String(name.prefix { $0 != "." })), let date = run.date, date < cutoff else { continue }
            try SpoolFiles.remove(folder.appendingPathComponent(name))
        }
    }

    /// Writes one file's outcome: its documents into `output`, or the file into quarantine with the reason.
    /// Returns false when the file was not transformed.
    func write(_ outcome: CloudTrailFileTransform.Outcome, job: CloudTrailFileTransform.Job, output: NDJSONOutput,
               resourceEvents: inout [UInt8], moveToQuarantine: Bool, report: inout RunReport) throws -> Bool {
        switch outcome {
        case .mismatch(let mismatch):
            var message = "\(job.key) of raw run \(job.runID): \(mismatch.reason); not transformed"
            if moveToQuarantine {
                let target = try quarantine.add(file: job.url, runID: job.runID, relativePath: job.relativePath, reason: mismatch.description)
                message += "; moved to \(target.path)"
            }
            report.errors.append(message)
            report.add("quarantined")
            return false
        case .corrupt(let error):
            let reason = "\(error.message) [file \(job.key), \(SpoolFiles.size(job.url)) bytes, from raw run \(job.runID)]"
            if moveToQuarantine {
                let target = try quarantine.add(file: job.url, runID: job.runID, relativePath: job.relativePath, reason: reason)
                report.errors.append("quarantined \(job.key): \(error.message); see \(target.path).reason")
            } else {
                report.errors.append("\(job.key) cannot be transformed: \(error.message)")
            }
            report.add("quarantined")
            logger.error("file quarantined", metadata: ["key": "\(job.key)", "reason": "\(error.message)"])
            return false
        case .built(let built):
            try output.write(built.ndjson.bytes)
            buffers.give(built.ndjson)
            resourceEvents.append(contentsOf: built.resourceEvents)
            if built.rejected > 0, let file = built.rejectedFile {
                report.errors.append("\(built.rejected) record(s) of \(job.key) rejected; see \(file.path)")
                report.add("rejected", built.rejected)
            }
            if built.repaired > 0 {
                logger.warning("invalid UTF-8 replaced by U+FFFD", metadata: ["key": "\(job.key)", "records": "\(built.repaired)"])
                report.add("utf8_repaired", built.repaired)
            }
            report.add("records", built.records)
            report.add("documents", built.documents)
            report.add("bytes", built.bytes)
            return true
        }
    }
}
