import Crypto
import Foundation
import Logging

/// The S3 object search transform: page by page, one document per object
/// (bucket, key, size, last modified, storage class, ETag, account, region;
/// id from account, bucket and key, so reruns overwrite) and one per bucket
/// with its object count and total size, in `awscli-s3-YYYY.MM.DD`.
public final class S3SearchTransformer: RawRunTransform {
    public static let collector = S3SearchFetcher.collector

    public let layout: SpoolLayout
    let naming: IndexNaming
    let ndjson: NDJSONOutput.Settings
    public let clock: RuntimeClock
    let logger: Logger
    /// Listing pages transformed at once (`transform.workers`).
    let workers: Int

    public init(context: StageContext) {
        self.layout = context.layout
        self.naming = context.naming
        self.ndjson = context.ndjson
        self.clock = context.clock
        self.logger = context.logger
        self.workers = context.config.transform.workers
    }

    /// Lower-cased pieces of a key (`AWSLogs/2026/Report_Final.csv` -> awslogs, 2026, report, final, csv) for fragment search.
    static func keyParts(_ key: String) -> [String] {
        var seen = Set<String>()
        return key.lowercased().split(whereSeparator: { "/._-= +".contains($0) }).map(String.init).filter { seen.insert($0).inserted }
    }

    public func transform(runFolder: URL, outputName: String, replay: Bool, report: inout RunReport) throws {
        let run = try RawRunManifest.read(runFolder: runFolder)
        let collectedAt = RunID(run.runId)?.date ?? clock.now()
        let day = UTCDate.parts(collectedAt)
        let documents = PageDocuments(index: "\(naming.inventoryStem)-s3-\(UTCDate.pad(day.year, 4)).\(UTCDate.pad(day.month)).\(UTCDate.pad(day.day))",
                                      timestamp: UTCDate.iso8601(collectedAt), runID: run.runId)
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: outputName, settings: ndjson)
        struct BucketTotals { var account: String; var region: String; var firstPage: String; var objects: Int64 = 0; var bytes: Int64 = 0 }
        var buckets: [String: BucketTotals] = [:]
        var out: [UInt8] = []
        let pages = run.entries.filter { $0.operation == "ListObjectsV2" && $0.account != nil && $0.region != nil && $0.parameters["Bucket"] != nil }
        // Pages are parsed and turned into documents on `workers` threads and written here in the manifest's
        // order, exactly as one thread would write them.
        let work = PageWork(transformer: self, pages: pages, documents: documents, runFolder: runFolder, runID: run.runId, replay: replay)
        do {
            try OrderedWorkers.run(count: pages.count, workers: workers, ahead: workers, produce: { work.run($0) }) { index, result in
                let page = try result.get()
                let entry = pages[index]
                report.merge(page.report)
                guard let built = page.built else { return }
                var totals = buckets[built.bucket] ?? BucketTotals(account: built.account, region: built.region, firstPage: entry.path)
                totals.objects += built.objects
                totals.bytes += built.bytes
                buckets[built.bucket] = totals
                out.append(contentsOf: built.ndjson)
                if out.count >= 1 << 20 {
                    try output.write(out)
                    out.removeAll(keepingCapacity: true)
                    try output.rotateIfFull()
                }
            }
            for name in buckets.keys.sorted() {
                let totals = buckets[name]!
                documents.emit(id: "s3.bucket:\(totals.account):\(name)", .object(documents.common("s3.bucket", totals.account, totals.region, totals.firstPage) + [
                    ("s3", .object([("bucket", .string(name)), ("object_count", .int(totals.objects)), ("total_size", .int(totals.bytes))])),
                ]), to: &out)
                report.add("documents")
            }
            try output.write(out)
            let files = try output.commit()
            report.add("ndjson_files", Int64(files.count))
        } catch {
            output.discard()
            throw error
        }
        report.add("files")
        logger.info("S3 listing transformed", metadata: ["run": "\(run.runId)", "buckets": "\(buckets.count)", "index": "\(documents.index)"])
    }

    /// How the documents of one run are written: its daily index, its time, its run id.
    struct PageDocuments: Sendable {
        let index: String
        let timestamp: String
        let runID: String

        func common(_ type: String, _ account: String, _ region: String, _ rawFile: String) -> [(String, JSONValue)] {
            [("@timestamp", .string(timestamp)),
             ("cloud", .object([("provider", .string("aws")), ("account", .object([("id", .string(account))])), ("region", .string(region))])),
             ("resource", .object([("type", .string(type))])),
             ("cloudspool", .object([("collector", .string("s3")), ("run_id", .string(runID)), ("raw_file", .string(rawFile)),
                                     ("last_seen", .string(timestamp))]))]
        }

        func emit(id: String, _ document: JSONValue, to out: inout [UInt8]) {
            JSONValue.object([("index", .object([("_index", .string(index)), ("_id", .string(id))]))]).write(to: &out)
            out.append(10)
            document.write(to: &out)
            out.append(10)
        }
    }

    /// One listing page turned into its object documents (nil when its answer was set aside).
    struct BuiltPage: Sendable {
        let bucket: String
        let account: String
        let region: String
        var ndjson: [UInt8] = []
        var objects: Int64 = 0
        var bytes: Int64 = 0
    }

    /// One page's work, on one of the transform's workers: it reads its own answer and writes only its
    /// `BuiltPage` (and, for an answer that is not what fetch stored, a copy in quarantine).
    struct PageWork: @unchecked Sendable {
        let transformer: S3SearchTransformer
        let pages: [RawRunManifest.Entry]
        let documents: PageDocuments
        let runFolder: URL
        let runID: String
        let replay: Bool

        func run(_ position: Int) -> Result<(built: BuiltPage?, report: RunReport), Error> {
            Result {
                var report = RunReport(stage: "transform", runId: runID, startedAt: Date(timeIntervalSince1970: 0))
                let built = try build(pages[position], report: &report)
                return (built, report)
            }
        }

        private func build(_ entry: RawRunManifest.Entry, report: inout RunReport) throws -> BuiltPage? {
            let account = entry.account!, region = entry.region!, bucket = entry.parameters["Bucket"]!
            guard let body = try transformer.verifiedData(entry, runFolder: runFolder, runID: runID, replay: replay, report: &report) else { return nil }
            let page = try S3ListPage.parse(body, bucket: bucket)
            var built = BuiltPage(bucket: bucket, account: account, region: region)
            for object in page.objects {
                built.objects += 1
                built.bytes += object.size
                var s3: [(String, JSONValue)] = [("bucket", .string(bucket)), ("key", .string(object.key)),
                                                 ("key_parts", .array(S3SearchTransformer.keyParts(object.key).map { .string($0) })),
                                                 ("size", .int(object.size))]
                if let modified = Timestamp.parse(Array(object.lastModified.utf8)[...]) { s3.append(("last_modified", .string(modified.canonical))) }
                if let storageClass = object.storageClass { s3.append(("storage_class", .string(storageClass))) }
                s3.append(("etag", .string(object.eTag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))))
                let id = "s3.object:" + SHA256Hex.of(Data("\(account)/\(bucket)/\(object.key)".utf8))
                documents.emit(id: id, .object(documents.common("s3.object", account, region, entry.path) + [("s3", .object(s3))]), to: &built.ndjson)
                report.add("documents")
            }
            report.add("records", Int64(page.objects.count))
            return built
        }
    }
}
