import Foundation
import Logging

/// The billing source of fetch: for each billing period looked at, reads the
/// report's manifest and, when it names a revision (assembly / execution)
/// not fetched before, stores the manifest and every report file of that
/// revision, byte for byte, as one raw run.
public final class BillingFetcher {
    public static let collector = "billing"

    /// `state/fetch-billing.json`: the revision fetched last, per period (`2026-11`).
    public struct State: Codable, Sendable, Equatable {
        public var periods: [String: String] = [:]
        public init() {}
    }

    let settings: BillingSettings
    let s3: S3Client
    let layout: SpoolLayout
    let clock: RuntimeClock
    let logger: Logger
    let store: CheckpointStore<State>
    let paths: CURLayout

    public init(context: StageContext, settings: BillingSettings, s3: S3Client) {
        self.settings = settings
        self.s3 = s3
        self.layout = context.layout
        self.clock = context.clock
        self.logger = context.logger
        self.store = CheckpointStore(layout: layout, name: "fetch-\(Self.collector)")
        self.paths = CURLayout(prefix: settings.prefix, reportName: settings.reportName)
    }

    public func run(report: inout RunReport) throws {
        var state = try store.load() ?? State()
        var found = 0
        for back in 0..<settings.months {
            let period = CURLayout.periodStart(monthsBack: back, from: clock.now())
            do {
                if try fetchPeriod(period, state: &state, report: &report) { found += 1 }
            } catch let error as AWSServiceError {
                let text = "\(error); the billing period \(UTCDate.day(period).prefix(7)) is tried again on the next run"
                if error.isRetryable { report.addRetryLater(text) } else { report.errors.append(text) }
            } catch let error as HTTPClientError {
                report.addRetryLater("\(error) while fetching the billing period \(UTCDate.day(period).prefix(7)); tried again on the next run")
            }
        }
        if found == 0 && report.errors.isEmpty {
            report.errors.append("no Cost & Usage Report manifest found for the last \(settings.months) billing period(s) under s3://\(settings.bucket)/\(settings.prefix)\(settings.reportName)/ (check billing.bucket, billing.prefix and billing.report_name)")
        }
    }

    /// Fetches one period if its manifest names a new revision. Returns whether a manifest was found.
    func fetchPeriod(_ period: Date, state: inout State, report: inout RunReport) throws -> Bool {
        let periodKey = String(UTCDate.day(period).prefix(7))
        guard let (key, format, data) = try locateManifest(period) else {
            logger.info("no report manifest for this period yet", metadata: ["period": "\(periodKey)"])
            return false
        }
        let manifest = try CURManifest.parse(data, format: format, key: key)
        do {
            try manifest.checkSupported(key: key)
        } catch let error as CloudspoolError {
            report.errors.append(error.message)
            return true
        }
        if state.periods[periodKey] == manifest.revisionId {
            logger.info("report unchanged", metadata: ["period": "\(periodKey)", "revision": "\(manifest.revisionId)"])
            return true
        }
        logger.info("new report revision", metadata: ["period": "\(periodKey)", "revision": "\(manifest.revisionId)", "files": "\(manifest.reportKeys.count)"])
        let now = clock.now()
        let writer = try RawRunWriter(layout: layout, collector: Self.collector, runID: RunID(date: now), startedAt: now)
        let manifestPath = "objects/" + SafePath.relativePath(forKey: key)
        let manifestURL = try writer.fileURL(manifestPath)
        try SpoolFiles.writeAtomically(data, to: manifestURL)
        try writer.add(RawRunManifest.Entry(path: manifestPath, service: "s3", operation: "GetObject", account: manifest.account, region: nil,
                                        parameters: ["Bucket": settings.bucket, "Key": key, "Role": "cur-manifest", "Format": format.rawValue],
                                        requestedAt: UTCDate.iso8601(now), httpStatus: 200, size: Int64(data.count), sha256: SHA256Hex.of(data)))
        for (n, reportKey) in manifest.reportKeys.enumerated() {
            try StopRequest.checkpoint("downloading \(reportKey)")
            do {
                let entry = try writer.storeObject(from: s3, bucket: settings.bucket, key: reportKey, account: manifest.account, region: nil,
                                                   extraParameters: ["Role": "cur-report", "Part": String(n)], clock: clock)
                report.add("files")
                report.add("bytes", entry.size)
            } catch let error as AWSServiceError where error.status == 404 {
                // The manifest names a file that is not there: set the revision aside, keep the previous one in the index.
                let reason = "the report manifest \(key) names \(reportKey), which does not exist in s3://\(settings.bucket) (\(error.code)); revision \(manifest.revisionId) of \(periodKey) is not loaded, the previous revision stays in the index"
                let target = layout.quarantine("fetch").appendingPathComponent(writer.runID.value, isDirectory: true)
                try writer.setAside(to: target, finishedAt: clock.now())
                try SpoolFiles.writeAtomically(Data((reason + "\n").utf8), to: target.appendingPathExtension("reason"))
                report.errors.append(reason + "; see \(target.path).reason")
                report.add("quarantined")
                state.periods[periodKey] = manifest.revisionId
                try store.save(state)
                return true
            }
        }
        let folder = try writer.commit(finishedAt: clock.now())
        state.periods[periodKey] = manifest.revisionId
        try store.save(state)
        report.add("runs")
        logger.info("raw run ready", metadata: ["run": "\(folder.lastPathComponent)", "period": "\(periodKey)", "files": "\(manifest.reportKeys.count)"])
        return true
    }

    /// The period's manifest: legacy layout first, then CUR 2.0. Nil when neither exists.
    ///
    /// Legacy CUR: the manifest in the period's folder is the latest revision
    /// (its folder name is found by listing, as AWS's end date has varied).
    /// CUR 2.0: the newest `*-Manifest.json` under `metadata/BILLING_PERIOD=YYYY-MM/`,
    /// which covers both "overwrite" and "create new report" (one folder per execution).
    func locateManifest(_ period: Date) throws -> (String, CURManifest.Format, Data)? {
        let p = UTCDate.parts(period)
        let reportFolder = "\(settings.prefix)\(settings.reportName)/"
        let rangeStart = "\(UTCDate.pad(p.year, 4))\(UTCDate.pad(p.month))01-"
        for folder in try s3.listCommonPrefixes(prefix: reportFolder) where folder.dropFirst(reportFolder.count).hasPrefix(rangeStart) {
            let key = "\(folder)\(settings.reportName)-Manifest.json"
            do {
                return (key, .legacy, try s3.getObjectData(key: key))
            } catch let error as AWSServiceError where error.status == 404 {
                continue
            }
        }
        let metadata = paths.cur2ManifestKey(periodStart: period)
        let metadataFolder = String(metadata[..<metadata.lastIndex(of: "/")!]) + "/"
        var newest: S3Object?
        var token: String?
        repeat {
            let page = try s3.listObjects(prefix: metadataFolder, continuationToken: token)
            for object in page.objects where object.key.hasSuffix("\(settings.reportName)-Manifest.json") {
                if newest == nil || object.lastModified > newest!.lastModified || (object.lastModified == newest!.lastModified && object.key > newest!.key) {
                    newest = object
                }
            }
            token = page.nextContinuationToken
        } while token != nil
        guard let newest else { return nil }
        return (newest.key, .cur2, try s3.getObjectData(key: newest.key))
    }
}
