import Foundation

/// The chain of raw runs of one collector: every committed manifest names the
/// run committed before it and the SHA-256 of that run's `manifest.json`, and
/// two small records in `state/` keep what the runs themselves cannot:
///
/// * `state/audit-chain-<collector>.json` (written by fetch after each commit):
///   the newest committed run and its manifest's SHA-256, so deleting the
///   newest runs is noticed too;
/// * `state/audit-pruned-<collector>.json` (written by retention before it
///   removes a run): each pruned run with its manifest's SHA-256 and its own
///   link, so the chain still verifies after retention, and the manifest
///   entries of its files that stay in quarantine.
///
/// Commits are serial per collector (fetch holds its lock), so the chain is a
/// line, never a tree.
public enum ManifestChain {
    /// The newest committed run of a collector.
    public struct Head: Codable, Sendable, Equatable {
        public var runId: String
        public var manifestSHA256: String
        public var committedAt: String

        public init(runId: String, manifestSHA256: String, committedAt: String) {
            self.runId = runId
            self.manifestSHA256 = manifestSHA256
            self.committedAt = committedAt
        }
    }

    public static func headStore(_ layout: SpoolLayout, collector: String) -> CheckpointStore<Head> {
        CheckpointStore(layout: layout, name: "audit-chain-\(collector)")
    }

    public static func prunedStore(_ layout: SpoolLayout, collector: String) -> CheckpointStore<PrunedRuns> {
        CheckpointStore(layout: layout, name: "audit-pruned-\(collector)")
    }

    /// The link the next committed run of `collector` gets: the recorded head,
    /// or the run that follows it when a fetch was killed between a run's
    /// rename and the head's update; without a head (a spool written before
    /// runs were chained) the newest run; else none (the collector's first run).
    ///
    /// Run ids have one-second resolution, so two runs of the same second do
    /// not sort in commit order: the chain follows the links, never the names.
    public static func nextLink(layout: SpoolLayout, collector: String) throws -> RawRunManifest.Chain {
        let folder = layout.raw(collector)
        func manifestBytes(_ name: String) -> Data? {
            FileManager.default.contents(atPath: folder.appendingPathComponent(name).appendingPathComponent(RawRunManifest.fileName).path)
        }
        guard let head = try headStore(layout, collector: collector).load() else {
            let runs = SpoolFiles.list(folder).filter { RunID($0) != nil }
            guard let newest = runs.last(where: { manifestBytes($0) != nil }), let bytes = manifestBytes(newest) else {
                return RawRunManifest.Chain(previousRunId: nil, previousManifestSHA256: nil)
            }
            return RawRunManifest.Chain(previousRunId: newest, previousManifestSHA256: SHA256Hex.of(bytes))
        }
        // A run committed after the head started after it: only names of the head's second or later can follow it.
        let second = String(head.runId.prefix(16))
        for name in SpoolFiles.list(folder) where RunID(name) != nil && name >= second && name != head.runId {
            guard let bytes = manifestBytes(name), let manifest = try? JSONDecoder().decode(RawRunManifest.self, from: bytes),
                  manifest.chain?.previousRunId == head.runId else { continue }
            return RawRunManifest.Chain(previousRunId: name, previousManifestSHA256: SHA256Hex.of(bytes))
        }
        return RawRunManifest.Chain(previousRunId: head.runId, previousManifestSHA256: head.manifestSHA256)
    }

    /// Records `runId` as the newest committed run (after its rename).
    public static func recordHead(layout: SpoolLayout, collector: String, runId: String, manifestBytes: Data, at date: Date) throws {
        try recordHead(layout: layout, collector: collector, runId: runId, manifestSHA256: SHA256Hex.of(manifestBytes), at: date)
    }

    /// The same, with the SHA-256 of the manifest's bytes (computed while they were written).
    public static func recordHead(layout: SpoolLayout, collector: String, runId: String, manifestSHA256: String, at date: Date) throws {
        try headStore(layout, collector: collector).save(Head(runId: runId, manifestSHA256: manifestSHA256, committedAt: UTCDate.iso8601(date)))
    }

    /// Records runs retention is about to remove (call before removing them).
    public static func recordPruned(layout: SpoolLayout, collector: String, runs: [PrunedRuns.Run]) throws {
        guard !runs.isEmpty else { return }
        let store = prunedStore(layout, collector: collector)
        var record = try store.load() ?? PrunedRuns()
        record.add(runs)
        try store.save(record)
    }

    /// What retention records of a run folder before removing it.
    public static func prunedRun(folder: URL, quarantine: URL, at date: Date) -> PrunedRuns.Run {
        let name = folder.lastPathComponent
        guard let read = try? RawRunManifest.readWithBytes(runFolder: folder) else {
            let bytes = FileManager.default.contents(atPath: folder.appendingPathComponent(RawRunManifest.fileName).path)
            return PrunedRuns.Run(runId: name, manifestSHA256: bytes.map(SHA256Hex.of) ?? "", chained: false, previousRunId: nil,
                                  previousManifestSHA256: nil, files: 0, bytes: 0, prunedAt: UTCDate.iso8601(date), quarantined: nil)
        }
        let (manifest, bytes) = read
        // Files of the run transform set aside stay in quarantine for good: keep their entries to verify them later.
        let kept = manifest.entries.filter { FileManager.default.fileExists(atPath: quarantine.appendingPathComponent($0.path).path) }
            .map { PrunedRuns.QuarantinedEntry(path: $0.path, size: $0.size, sha256: $0.sha256) }
        return PrunedRuns.Run(runId: name, manifestSHA256: SHA256Hex.of(bytes), chained: manifest.chain != nil,
                              previousRunId: manifest.chain?.previousRunId, previousManifestSHA256: manifest.chain?.previousManifestSHA256,
                              files: manifest.entries.count, bytes: manifest.entries.reduce(0) { $0 + $1.size },
                              prunedAt: UTCDate.iso8601(date), quarantined: kept.isEmpty ? nil : kept)
    }
}

/// `state/audit-pruned-<collector>.json`: the runs retention removed.
public struct PrunedRuns: Codable, Sendable, Equatable {
    /// A file of a pruned run that is still in quarantine.
    public struct QuarantinedEntry: Codable, Sendable, Equatable {
        public var path: String
        public var size: Int64
        public var sha256: String
    }

    /// One pruned run: its manifest's SHA-256 and its own chain link.
    public struct Run: Codable, Sendable, Equatable {
        public var runId: String
        public var manifestSHA256: String
        /// Whether its manifest had a chain link.
        public var chained: Bool
        public var previousRunId: String?
        public var previousManifestSHA256: String?
        public var files: Int
        public var bytes: Int64
        public var prunedAt: String
        public var quarantined: [QuarantinedEntry]?
    }

    /// Older records folded into a count, so the file stays small.
    public struct Compacted: Codable, Sendable, Equatable {
        public var runs: Int
        public var firstRunId: String
        public var lastRunId: String
    }

    /// The records kept one by one (runs with quarantined files are always kept).
    public static let keep = 2000

    public var runs: [Run] = []
    public var compacted: Compacted?

    public init() {}

    mutating func add(_ more: [Run]) {
        var byID = Dictionary(runs.map { ($0.runId, $0) }, uniquingKeysWith: { _, new in new })
        for run in more { byID[run.runId] = run }
        var all = byID.values.sorted { $0.runId < $1.runId }
        var excess = all.filter { $0.quarantined == nil }.count - Self.keep
        guard excess > 0 else {
            runs = all
            return
        }
        var folded: [Run] = []
        all.removeAll { run in
            guard excess > 0, run.quarantined == nil else { return false }
            excess -= 1
            folded.append(run)
            return true
        }
        var summary = compacted ?? Compacted(runs: 0, firstRunId: folded[0].runId, lastRunId: folded[0].runId)
        summary.runs += folded.count
        summary.firstRunId = min(summary.firstRunId, folded[0].runId)
        summary.lastRunId = max(summary.lastRunId, folded[folded.count - 1].runId)
        compacted = summary
        runs = all
    }

    /// Whether `runId` was pruned (one by one or folded into the count).
    public func covers(_ runId: String) -> Bool {
        if runs.contains(where: { $0.runId == runId }) { return true }
        if let compacted { return runId >= compacted.firstRunId && runId <= compacted.lastRunId }
        return false
    }
}
