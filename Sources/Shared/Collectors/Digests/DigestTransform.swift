import Foundation
import Logging

/// `state/audit-digests.json`: what the digests transform remembers between runs.
public struct DigestAuditState: Codable, Sendable {
    /// A digest fetched but not checked yet (the log files it names may still be on their way).
    public struct Pending: Codable, Sendable, Equatable {
        public var runId: String
        public var path: String
        public var bucket: String
        public var key: String
        public var signature: String?
        public var signatureAlgorithm: String?
    }

    /// The newest checked digest of a chain, for the next one's link.
    public struct Tail: Codable, Sendable, Equatable {
        public var previous: DigestValidator.Previous
        public var end: String
    }

    /// A fetched log file no checked digest has named yet.
    public struct Undigested: Codable, Sendable, Equatable {
        public var location: LogFileLocation
        public var deliveredAt: Date
        public var area: String
    }

    /// A log file a digest named before it was fetched: checked when it arrives.
    public struct Awaited: Codable, Sendable, Equatable {
        public var hash: String
        public var digestKey: String
        public var digestRun: String
        public var digestPath: String
        public var digestEnd: Date
    }

    /// The digests checked in a delivery area: the first one's start and the newest one's.
    public struct Coverage: Codable, Sendable, Equatable {
        public var first: Date
        public var newest: Date
    }

    public var pending: [Pending] = []
    public var chains: [String: Tail] = [:]
    public var undigested: [String: Undigested] = [:]
    public var awaited: [String: Awaited] = [:]
    /// CloudTrail raw runs whose log files were taken into `undigested`.
    public var scannedLogRuns: [String] = []
    public var coverage: [String: Coverage] = [:]

    public init() {}
}

/// The digests transform: each digest fetch stored is checked once the log
/// files it names have been fetched (or two hours after its end): signature,
/// link to the previous digest of its chain, and every log file against the
/// fetched copy; fetched log files no digest names, although digests cover
/// their time, are reported too. The results are documents for
/// `cloudspool-audit-YYYY.MM` (`AuditDocuments`). It never changes the exit
/// code: a mismatch is what the documents (and `cloudspool-audit digests`) say.
public final class DigestTransform: CollectorTransform {
    public static let collector = CloudTrailFetcher.Source.digests.collector

    let layout: SpoolLayout
    let naming: IndexNaming
    let settings: CloudTrailSettings
    let ndjson: NDJSONOutput.Settings
    let clock: RuntimeClock
    let logger: Logger
    let rawDays: Int
    let store: CheckpointStore<DigestAuditState>

    public init(context: StageContext, settings: CloudTrailSettings) {
        layout = context.layout
        naming = context.naming
        self.settings = settings
        ndjson = context.ndjson
        clock = context.clock
        logger = context.logger
        rawDays = context.config.retention.rawDays
        store = CheckpointStore(layout: context.layout, name: "audit-digests")
    }

    public func run(report: inout RunReport) throws {
        let runs = PendingRawRuns(layout: layout, collector: Self.collector)
        var newRuns: [URL] = []
        for folder in try runs.folders() where try !runs.setAsideIfNotARun(folder, report: &report) { newRuns.append(folder) }
        var state = try store.load() ?? DigestAuditState()
        // Nothing fetched and nothing remembered: the trail writes no digests, or they are not fetched.
        guard !newRuns.isEmpty || !state.pending.isEmpty || !state.coverage.isEmpty else { return }
        let now = clock.now()
        var out: [UInt8] = []
        let logRuns = SpoolFiles.list(layout.raw(CloudTrailFetcher.collector)).filter { RunID($0) != nil }
        func checker(_ keys: DigestPublicKeys) -> DigestChecker {
            DigestChecker(layout: layout, bucket: settings.bucket, keys: keys, now: now, fetchedFrom: settings.startDate.addingTimeInterval(-86_400),
                          keptFrom: DigestAudit.prunedUpTo(layout: layout))
        }
        let logChecker = checker(DigestPublicKeys())

        // 1. The digests fetched since the last run.
        for folder in newRuns {
            let manifest = try RawRunManifest.read(runFolder: folder)
            for entry in manifest.entries {
                guard let stored = StoredDigest(entry: entry, runId: manifest.runId, runFolder: folder),
                      !state.pending.contains(where: { $0.key == stored.key && $0.runId == stored.runId }) else { continue }
                state.pending.append(.init(runId: stored.runId, path: stored.path, bucket: stored.bucket, key: stored.key,
                                           signature: stored.signature, signatureAlgorithm: stored.signatureAlgorithm))
            }
        }
        // 2. The log files fetched since the last run: what digests name, and what they must name.
        let scanned = Set(state.scannedLogRuns)
        for run in logRuns where !scanned.contains(run) {
            guard let manifest = try? RawRunManifest.read(runFolder: layout.raw(CloudTrailFetcher.collector).appendingPathComponent(run)) else { continue }
            for entry in manifest.entries {
                guard let key = entry.parameters["Key"], let parsed = CloudTrailKey(key: key), let area = DigestNaming.area(key) else { continue }
                let location = LogFileLocation(runId: run, path: entry.path)
                if let awaited = state.awaited.removeValue(forKey: key) {
                    // Named by a digest before it was fetched: check it now.
                    let file = CloudTrailDigest.LogFile(bucket: settings.bucket, key: key, hashValue: awaited.hash, hashAlgorithm: "SHA-256")
                    let outcome = logChecker.checkLog(file, namedAt: awaited.digestEnd) { _ in location }
                    AuditDocuments.append(outcome, timestamp: .string(UTCDate.iso8601(awaited.digestEnd)), index: AuditDocuments.index(naming, awaited.digestEnd),
                                          digestKey: awaited.digestKey, provenance: Self.provenance(awaited.digestRun, awaited.digestPath), to: &out)
                    report.add("audit_log_files")
                    continue
                }
                state.undigested[key] = .init(location: location, deliveredAt: parsed.deliveredAt, area: area)
            }
        }
        state.scannedLogRuns = logRuns
        // 3. The digests whose log files are here (or whose time is up), each chain oldest first.
        let locate: (String) -> LogFileLocation? = { state.undigested[$0]?.location }
        var notes: [String] = []
        let checker = state.pending.isEmpty ? logChecker : checker(DigestAudit.publicKeys(layout: layout, notes: &notes))
        for note in notes { logger.warning("a stored ListPublicKeys answer cannot be read", metadata: ["problem": "\(note)"]) }
        var blocked = Set<String>()
        var done = Set<String>()
        for (chain, members) in Dictionary(grouping: state.pending, by: { DigestNaming.chainID($0.key) ?? $0.key }).sorted(by: { $0.key < $1.key }) {
            let ordered = members.compactMap { Self.stored($0, layout: layout) }.sorted { ($0.endTime, $0.key) < ($1.endTime, $1.key) }
            for stored in ordered {
                let digest = try? CloudTrailDigest(uncompressed: try DigestValidator.uncompressed(stored.url))
                if let digest, !checker.isReady(digest, locate: locate) {
                    blocked.insert(stored.area)
                    break
                }
                let outcome = checker.check(stored, previous: { d in
                    if let tail = state.chains[chain], tail.previous.key == d.previousKey { return .found(tail.previous) }
                    // The first digest of its chain this transform sees: its predecessor is older than the spool.
                    return state.chains[chain] == nil ? .notKept : .missing
                }, locate: locate)
                AuditDocuments.append(outcome, naming: naming, to: &out)
                report.add("audit_digests")
                report.add("audit_log_files", Int64(outcome.logs.count))
                if !outcome.valid {
                    report.add("audit_invalid_digests")
                    logger.warning("CloudTrail digest does not validate", metadata: ["key": "\(stored.key)", "problems": "\(outcome.problems.joined(separator: "; "))"])
                }
                for log in outcome.logs {
                    state.undigested[log.key] = nil
                    if log.isProblem {
                        report.add("audit_log_problems")
                        logger.warning("CloudTrail log file is not as delivered", metadata: ["key": "\(log.key)", "status": "\(log.status.rawValue)"])
                    }
                    if log.status == .missing || log.status == .pending, let end = outcome.digest?.end, let hash = log.expectedSHA256 {
                        state.awaited[log.key] = .init(hash: hash, digestKey: stored.key, digestRun: stored.runId, digestPath: stored.path, digestEnd: end)
                    }
                }
                if let previous = outcome.asPrevious, let digest = outcome.digest {
                    state.chains[chain] = .init(previous: previous, end: digest.endTime)
                    if let start = digest.start {
                        let c = state.coverage[stored.area] ?? .init(first: start, newest: start)
                        state.coverage[stored.area] = .init(first: min(c.first, start), newest: max(c.newest, start))
                    }
                }
                done.insert(stored.runId + "/" + stored.key)
            }
        }
        state.pending.removeAll { done.contains($0.runId + "/" + $0.key) || !SpoolFiles.isDirectory(layout.raw(Self.collector).appendingPathComponent($0.runId)) }
        // 4. Fetched log files no digest names, where digests cover their time.
        let kept = Set(logRuns)
        for (key, log) in state.undigested.sorted(by: { $0.key < $1.key }) {
            guard kept.contains(log.location.runId) else {
                state.undigested[key] = nil
                continue
            }
            guard let coverage = state.coverage[log.area] else {
                // No digest of its area checked yet: it may come; after six hours, the area has none.
                if now.timeIntervalSince(log.deliveredAt) > 6 * 3600 { state.undigested[key] = nil }
                continue
            }
            if blocked.contains(log.area) { continue }
            if log.deliveredAt < coverage.first {
                state.undigested[key] = nil
            } else if DigestChecker.isUndigested(deliveredAt: log.deliveredAt, firstDigestStart: coverage.first, newestDigestStart: coverage.newest) {
                AuditDocuments.appendUndigested(bucket: settings.bucket, key: key, location: log.location, deliveredAt: log.deliveredAt, naming: naming, to: &out)
                report.add("audit_log_problems")
                logger.warning("CloudTrail log file that no digest names", metadata: ["key": "\(key)"])
                state.undigested[key] = nil
            }
        }
        let forget = now.addingTimeInterval(-Double(max(rawDays, 1)) * 86_400)
        state.awaited = state.awaited.filter { $0.value.digestEnd >= forget }
        // 5. The documents, then the state, then the runs as done: a crash in between checks them again (same ids).
        if !out.isEmpty {
            let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: RunID(date: now).value, settings: ndjson)
            do {
                try output.write(out)
                report.add("ndjson_files", Int64(try output.commit().count))
            } catch {
                output.discard()
                throw error
            }
        }
        try store.save(state)
        for folder in newRuns { try runs.markDone(folder) }
    }

    /// Checks the digests of one raw run again against everything kept; new NDJSON, the same document ids.
    public func replay(path: URL, report: inout RunReport) throws {
        let folder = path.standardizedFileURL
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(RawRunManifest.fileName).path) else {
            throw CloudspoolError(.configuration, "\(folder.path) is not a raw run folder (it has no manifest.json)")
        }
        let audit = DigestAudit(layout: layout, bucket: settings.bucket, startDate: settings.startDate, now: clock.now())
        let result = audit.run(onlyRun: folder.lastPathComponent)
        var out: [UInt8] = []
        for outcome in result.digests { AuditDocuments.append(outcome, naming: naming, to: &out) }
        report.add("audit_digests", Int64(result.digests.count))
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: PendingRawRuns.replayName(folder, at: clock.now()), settings: ndjson)
        do {
            try output.write(out)
            report.add("ndjson_files", Int64(try output.commit().count))
        } catch {
            output.discard()
            throw error
        }
    }

    static func stored(_ pending: DigestAuditState.Pending, layout: SpoolLayout) -> StoredDigest? {
        let folder = layout.raw(collector).appendingPathComponent(pending.runId)
        var parameters = ["Role": "digest", "Key": pending.key, "Bucket": pending.bucket]
        parameters["Signature"] = pending.signature
        parameters["SignatureAlgorithm"] = pending.signatureAlgorithm
        let entry = RawRunManifest.Entry(path: pending.path, service: "s3", operation: "GetObject", account: nil, region: nil, parameters: parameters,
                                         requestedAt: "", httpStatus: 200, size: 0, sha256: "")
        return StoredDigest(entry: entry, runId: pending.runId, runFolder: folder)
    }

    static func provenance(_ run: String, _ path: String) -> JSONValue {
        .object([("collector", .string(collector)), ("run_id", .string(run)), ("raw_file", .string(path))])
    }
}
