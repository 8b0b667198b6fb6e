import Foundation

/// Answers "is this what AWS delivered?" for everything the spool keeps, as
/// `aws cloudtrail validate-logs` does against the bucket: every kept digest
/// is checked (signature with the stored public keys, link to the previous
/// digest of its chain), every log file a digest names is compared with the
/// fetched copy (SHA-256 of the uncompressed content), and fetched log files
/// that no digest names although digests cover their time are reported.
public struct DigestAudit: Sendable {
    public let layout: SpoolLayout
    public let bucket: String
    /// `cloudtrail.start_date`: log files before it were never fetched.
    public let startDate: Date
    public let now: Date
    /// Only digests ending (and undigested log files written) at or after this time.
    public let since: Date?

    public init(layout: SpoolLayout, bucket: String, startDate: Date, now: Date, since: Date? = nil) {
        self.layout = layout
        self.bucket = bucket
        self.startDate = startDate
        self.now = now
        self.since = since
    }

    public struct Report: Sendable {
        public var digests: [DigestOutcome] = []
        /// Fetched log files no digest names.
        public var undigested: [LogFileOutcome] = []
        public var publicKeys = 0
        public var notes: [String] = []

        public var problems: Int {
            digests.filter { !$0.valid }.count + digests.reduce(0) { $0 + $1.logs.filter(\.isProblem).count } + undigested.count
        }
        public var intact: Bool { problems == 0 }
    }

    /// The public keys of every kept `ListPublicKeys` answer.
    public static func publicKeys(layout: SpoolLayout, notes: inout [String]) -> DigestPublicKeys {
        var keys = DigestPublicKeys()
        let folder = layout.raw(Collector.digests.name)
        for run in SpoolFiles.list(folder) where RunID(run) != nil {
            guard let manifest = try? RawRunManifest.read(runFolder: folder.appendingPathComponent(run)) else { continue }
            for entry in manifest.entries where entry.operation == "ListPublicKeys" {
                guard let body = FileManager.default.contents(atPath: folder.appendingPathComponent(run).appendingPathComponent(entry.path).path) else { continue }
                do {
                    try keys.add(listPublicKeysAnswer: body, region: entry.region)
                } catch {
                    notes.append("raw/\(Collector.digests.name)/\(run)/\(entry.path): \(StageRunner.describe(error))")
                }
            }
        }
        return keys
    }

    /// The digests kept in `raw/digests/` (of one run, or of all).
    public static func storedDigests(layout: SpoolLayout, onlyRun: String? = nil) -> [StoredDigest] {
        let folder = layout.raw(Collector.digests.name)
        var out: [StoredDigest] = []
        for run in SpoolFiles.list(folder) where RunID(run) != nil && (onlyRun == nil || run == onlyRun) {
            let runFolder = folder.appendingPathComponent(run)
            guard let manifest = try? RawRunManifest.read(runFolder: runFolder) else { continue }
            out += manifest.entries.compactMap { StoredDigest(entry: $0, runId: run, runFolder: runFolder) }
        }
        return out
    }

    /// Every kept CloudTrail log file: S3 key -> where it is (the first run that stored it).
    public static func keptLogFiles(layout: SpoolLayout) -> [String: LogFileLocation] {
        let folder = layout.raw(CloudTrailFetcher.collector)
        var out: [String: LogFileLocation] = [:]
        for run in SpoolFiles.list(folder) where RunID(run) != nil {
            guard let manifest = try? RawRunManifest.read(runFolder: folder.appendingPathComponent(run)) else { continue }
            for entry in manifest.entries {
                guard let key = entry.parameters["Key"], out[key] == nil else { continue }
                out[key] = LogFileLocation(runId: run, path: entry.path)
            }
        }
        return out
    }

    /// The start of the newest CloudTrail run retention removed: a log file delivered before it may
    /// have been fetched in a removed run; one delivered after it was fetched, if at all, in a kept run.
    public static func prunedUpTo(layout: SpoolLayout) -> Date? {
        guard let record = try? ManifestChain.prunedStore(layout, collector: CloudTrailFetcher.collector).load() else { return nil }
        let newest = [record.runs.last?.runId, record.compacted?.lastRunId].compactMap { $0 }.max()
        return newest.flatMap { RunID($0)?.date }
    }

    public func run(onlyRun: String? = nil) -> Report {
        var report = Report()
        let keys = Self.publicKeys(layout: layout, notes: &report.notes)
        report.publicKeys = keys.keys.count
        let all = Self.storedDigests(layout: layout)
        let logs = Self.keptLogFiles(layout: layout)
        let checker = DigestChecker(layout: layout, bucket: bucket, keys: keys, now: now, fetchedFrom: startDate.addingTimeInterval(-86_400),
                                    keptFrom: Self.prunedUpTo(layout: layout))
        var byKey: [String: StoredDigest] = [:]
        for digest in all { byKey[digest.key] = digest }
        var parsed: [String: CloudTrailDigest?] = [:]
        func digest(_ stored: StoredDigest) -> CloudTrailDigest? {
            if let cached = parsed[stored.key] { return cached }
            let value = try? CloudTrailDigest(uncompressed: try DigestValidator.uncompressed(stored.url))
            parsed[stored.key] = value
            return value
        }
        var named = Set<String>()
        var coverage: [String: (first: Date, newest: Date)] = [:]
        for (_, members) in Dictionary(grouping: all, by: \.chainID).sorted(by: { $0.key < $1.key }) {
            let ordered = members.sorted { ($0.endTime, $0.key) < ($1.endTime, $1.key) }
            for (i, stored) in ordered.enumerated() {
                if let d = digest(stored) {
                    named.formUnion(d.logFiles.map(\.key))
                    if let start = d.start {
                        let c = coverage[stored.area] ?? (start, start)
                        coverage[stored.area] = (min(c.first, start), max(c.newest, start))
                    }
                }
                if let onlyRun, stored.runId != onlyRun { continue }
                if let since, stored.endTime < since { continue }
                let outcome = checker.check(stored, previous: { d in
                    guard let key = d.previousKey, let previous = byKey[key], let p = digest(previous) else {
                        // The oldest kept digest of its chain: its predecessor was pruned or is before the fetch window.
                        return i == 0 ? .notKept : .missing
                    }
                    return .found(DigestValidator.Previous(key: previous.key, signature: previous.signature, hash: p.hash))
                }, locate: { logs[$0] })
                report.digests.append(outcome)
            }
        }
        guard onlyRun == nil else { return report }
        for (key, location) in logs.sorted(by: { $0.key < $1.key }) where !named.contains(key) {
            guard let parsedKey = CloudTrailKey(key: key), let area = DigestNaming.area(key) else { continue }
            if let since, parsedKey.deliveredAt < since { continue }
            let c = coverage[area]
            guard DigestChecker.isUndigested(deliveredAt: parsedKey.deliveredAt, firstDigestStart: c?.first, newestDigestStart: c?.newest) else { continue }
            report.undigested.append(LogFileOutcome(bucket: bucket, key: key, status: .noDigest, runId: location.runId, path: location.path,
                                                    expectedSHA256: nil, actualSHA256: nil,
                                                    detail: "fetched, but no kept digest names it although digests cover its time: CloudTrail did not deliver it"))
        }
        if all.isEmpty {
            report.notes.append("no digest file is kept (raw/\(Collector.digests.name)/): the trail writes none (log file validation off), or cloudtrail.validate_digests is false")
        }
        return report
    }
}
