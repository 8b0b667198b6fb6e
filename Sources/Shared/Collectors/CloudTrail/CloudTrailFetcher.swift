import Foundation
import Logging

/// The CloudTrail source of fetch: lists the trail bucket incrementally and
/// stores every new log file, byte for byte, in raw runs of at most
/// `batch_objects` files, advancing the listing checkpoint after each run is
/// visible.
public final class CloudTrailFetcher {
    public static let collector = "cloudtrail"

    /// What is listed: the log files (`CloudTrail/`) or the digest files (`CloudTrail-Digest/`) of each account and region.
    public struct Source: Sendable {
        /// The raw runs' collector and the checkpoint's name.
        public let collector: String
        /// The folder beside `<region>/` under each account: `CloudTrail` or `CloudTrail-Digest`.
        public let folder: String
        let parse: @Sendable (String) -> CloudTrailKey?
        /// Response headers kept in the manifest entry (header -> parameter).
        let keptHeaders: [String: String]
        let role: String?

        /// The log files.
        public static let logs = Source(collector: CloudTrailFetcher.collector, folder: "CloudTrail", parse: { CloudTrailKey(key: $0) },
                                        keptHeaders: [:], role: nil)
        /// The digest files, with the signature CloudTrail puts in each object's metadata.
        public static let digests = Source(collector: "digests", folder: "CloudTrail-Digest", parse: { CloudTrailKey(digestKey: $0) },
                                           keptHeaders: ["x-amz-meta-signature": "Signature", "x-amz-meta-signature-algorithm": "SignatureAlgorithm"],
                                           role: "digest")
    }

    let settings: CloudTrailSettings
    let s3: S3Client
    let source: Source
    let layout: SpoolLayout
    let clock: RuntimeClock
    let logger: Logger
    let store: CheckpointStore<CloudTrailListingState>
    /// Keys stored by this run (all its raw runs).
    public private(set) var stored: [CloudTrailKey] = []

    public init(context: StageContext, settings: CloudTrailSettings, s3: S3Client, source: Source = .logs) {
        self.settings = settings
        self.s3 = s3
        self.source = source
        self.layout = context.layout
        self.clock = context.clock
        self.logger = context.logger
        self.store = CheckpointStore(layout: layout, name: "fetch-\(source.collector)")
    }

    var overlap: TimeInterval { TimeInterval(settings.overlapMinutes * 60) }

    /// Fetches everything new. Errors of one prefix are recorded in `report`
    /// and the others go on; the caller turns `report.errors` into the exit code.
    /// `finish` may add files to the last raw run before it is committed (the digests' public keys).
    public func run(report: inout RunReport, finish: ((RawRunWriter, inout RunReport) throws -> Void)? = nil) throws {
        var state = try store.load() ?? CloudTrailListingState()
        let prefixes = try discoverPrefixes(report: &report)
        logger.info("listing trail bucket", metadata: ["bucket": "\(settings.bucket)", "prefixes": "\(prefixes.count)"])
        var batch = try BatchInProgress(fetcher: self)
        for prefix in prefixes {
            do {
                try fetchPrefix(prefix, state: &state, batch: &batch, report: &report)
            } catch let error as AWSServiceError {
                let text = "\(error); the files of \(prefix) after the last one fetched are retried on the next run"
                if error.isRetryable { report.addRetryLater(text) } else { report.errors.append(text) }
                logger.error("prefix failed", metadata: ["prefix": "\(prefix)", "error": "\(error)"])
            } catch let error as HTTPClientError {
                report.addRetryLater("\(error) while fetching \(prefix); retried on the next run")
                logger.error("prefix failed", metadata: ["prefix": "\(prefix)", "error": "\(error)"])
            }
        }
        try finish?(batch.writer, &report)
        try batch.commit(state: &state, report: &report)
        batch.writer.discard()
    }

    /// The `…/CloudTrail/<region>/` prefixes to list, filtered by the configured accounts and regions.
    func discoverPrefixes(report: inout RunReport) throws -> [String] {
        let root = settings.prefix + "AWSLogs/"
        var accountPrefixes: [(account: String, prefix: String)] = []
        for top in try s3.listCommonPrefixes(prefix: root) {
            let name = top.dropFirst(root.count).dropLast()
            if name.hasPrefix("o-") {
                for accountPrefix in try s3.listCommonPrefixes(prefix: top) {
                    let account = String(accountPrefix.dropFirst(top.count).dropLast())
                    if AccountID.isValid(account) { accountPrefixes.append((account, accountPrefix)) }
                }
            } else if AccountID.isValid(name) {
                accountPrefixes.append((String(name), top))
            }
        }
        var result: [String] = []
        let folder = source.folder + "/"
        for (account, prefix) in accountPrefixes {
            if !settings.accounts.isEmpty && !settings.accounts.contains(account) { continue }
            for regionPrefix in try s3.listCommonPrefixes(prefix: prefix + folder) {
                let region = String(regionPrefix.dropFirst(prefix.count + folder.count).dropLast())
                if !settings.regions.isEmpty && !settings.regions.contains(region) { continue }
                result.append(regionPrefix)
            }
        }
        if result.isEmpty && source.folder == Source.logs.folder {
            report.errors.append("no CloudTrail log folders found under s3://\(settings.bucket)/\(root) (check cloudtrail.bucket, cloudtrail.prefix, accounts and regions)")
        }
        return result.sorted()
    }

    func fetchPrefix(_ prefix: String, state: inout CloudTrailListingState, batch: inout BatchInProgress, report: inout RunReport) throws {
        let startAfter = state.startAfter(prefix: prefix, overlap: overlap, firstDay: settings.startDate)
        var token: String?
        repeat {
            let page = try s3.listObjects(prefix: prefix, startAfter: startAfter, continuationToken: token)
            report.add("listed", Int64(page.objects.count))
            for object in page.objects {
                try StopRequest.checkpoint("listing \(prefix)")
                guard let key = source.parse(object.key) else {
                    report.add("skipped")
                    continue
                }
                guard key.day >= settings.startDate.addingTimeInterval(-86_400),
                      state.isNew(prefix: prefix, key: key, overlap: overlap) else { continue }
                try download(object, key: key, prefix: prefix, batch: &batch, report: &report)
                if batch.writer.count >= settings.batchObjects {
                    try batch.commit(state: &state, report: &report)
                }
            }
            token = page.nextContinuationToken
        } while token != nil
    }

    func download(_ object: S3Object, key: CloudTrailKey, prefix: String, batch: inout BatchInProgress, report: inout RunReport) throws {
        var extra: [String: String] = [:]
        if !object.eTag.isEmpty { extra["ETag"] = object.eTag }
        if let role = source.role { extra["Role"] = role }
        let entry = try batch.writer.storeObject(from: s3, bucket: settings.bucket, key: object.key, account: key.account, region: key.region,
                                                 extraParameters: extra, keptHeaders: source.keptHeaders, clock: clock)
        batch.keys[prefix, default: []].append(key)
        stored.append(key)
        report.add("files")
        report.add("bytes", entry.size)
        if report.count("files") % 100 == 0 {
            logger.info("fetching", metadata: ["files": "\(report.count("files"))", "bytes": "\(report.count("bytes"))"])
        }
    }

    /// The raw run being filled, and the keys it holds per prefix.
    struct BatchInProgress {
        let fetcher: CloudTrailFetcher
        var writer: RawRunWriter
        var keys: [String: [CloudTrailKey]] = [:]

        init(fetcher: CloudTrailFetcher) throws {
            self.fetcher = fetcher
            let now = fetcher.clock.now()
            writer = try RawRunWriter(layout: fetcher.layout, collector: fetcher.source.collector, runID: RunID(date: now), startedAt: now)
        }

        /// Makes the run visible, then advances the checkpoint, then starts a new run.
        mutating func commit(state: inout CloudTrailListingState, report: inout RunReport) throws {
            guard !writer.isEmpty else { return }
            let folder = try writer.commit(finishedAt: fetcher.clock.now())
            for (prefix, list) in keys {
                for key in state.record(prefix: prefix, keys: list, overlap: fetcher.overlap, now: fetcher.clock.now()) {
                    report.errors.append("s3://\(fetcher.settings.bucket)/\(key.key) claims a delivery time of \(UTCDate.iso8601(key.deliveredAt)), "
                                         + "later than now: fetched, but it does not move the listing checkpoint (a forged or mis-named object?)")
                }
            }
            try fetcher.store.save(state)
            report.add("runs")
            fetcher.logger.info("raw run ready", metadata: ["run": "\(folder.lastPathComponent)", "files": "\(writer.count)", "bytes": "\(writer.bytes)"])
            self = try BatchInProgress(fetcher: fetcher)
        }
    }
}
