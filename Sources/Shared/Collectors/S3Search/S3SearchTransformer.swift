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

    /// Lower-cased pieces of a key (`AWSLogs/2026/Report_Final.csv` -> awslogs, 2026, report, final, csv) for fragment search.
    static func keyParts(_ key: String) -> [String] {
        var seen = Set<String>()
        return key.lowercased().split(whereSeparator: { "/._-= +".contains($0) }).map(String.init).filter { seen.insert($0).inserted }
    }

    public func transform(runFolder: URL, outputName: String, replay: Bool, report: inout RunReport) throws {
        let run = try RawRunManifest.read(runFolder: runFolder)
        let collectedAt = RunID(run.runId)?.date ?? clock.now()
        let day = UTCDate.parts(collectedAt)
        let index = "\(naming.inventoryStem)-s3-\(UTCDate.pad(day.year, 4)).\(UTCDate.pad(day.month)).\(UTCDate.pad(day.day))"
        let timestamp = UTCDate.iso8601(collectedAt)
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: outputName, maxFileBytes: maxFileBytes)
        struct BucketTotals { var account: String; var region: String; var firstPage: String; var objects: Int64 = 0; var bytes: Int64 = 0 }
        var buckets: [String: BucketTotals] = [:]
        var out: [UInt8] = []
        func common(_ type: String, _ account: String, _ region: String, _ rawFile: String) -> [(String, JSONValue)] {
            [("@timestamp", .string(timestamp)),
             ("cloud", .object([("provider", .string("aws")), ("account", .object([("id", .string(account))])), ("region", .string(region))])),
             ("resource", .object([("type", .string(type))])),
             ("cloudspool", .object([("collector", .string("s3")), ("run_id", .string(run.runId)), ("raw_file", .string(rawFile)),
                                     ("last_seen", .string(timestamp))]))]
        }
        func emit(id: String, _ document: JSONValue) {
            JSONValue.object([("index", .object([("_index", .string(index)), ("_id", .string(id))]))]).write(to: &out)
            out.append(10)
            document.write(to: &out)
            out.append(10)
            report.add("documents")
        }
        do {
            for entry in run.entries where entry.operation == "ListObjectsV2" {
                guard let account = entry.account, let region = entry.region, let bucket = entry.parameters["Bucket"] else { continue }
                guard let body = try verifiedData(entry, runFolder: runFolder, runID: run.runId, replay: replay, report: &report) else { continue }
                let page = try S3ListPage.parse(body, bucket: bucket)
                var totals = buckets[bucket] ?? BucketTotals(account: account, region: region, firstPage: entry.path)
                for object in page.objects {
                    totals.objects += 1
                    totals.bytes += object.size
                    var s3: [(String, JSONValue)] = [("bucket", .string(bucket)), ("key", .string(object.key)),
                                                     ("key_parts", .array(Self.keyParts(object.key).map { .string($0) })),
                                                     ("size", .int(object.size))]
                    if let modified = Timestamp.parse(Array(object.lastModified.utf8)[...]) { s3.append(("last_modified", .string(modified.canonical))) }
                    if let storageClass = object.storageClass { s3.append(("storage_class", .string(storageClass))) }
                    s3.append(("etag", .string(object.eTag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))))
                    let id = "s3.object:" + SHA256Hex.of(Data("\(account)/\(bucket)/\(object.key)".utf8))
                    emit(id: id, .object(common("s3.object", account, region, entry.path) + [("s3", .object(s3))]))
                }
                buckets[bucket] = totals
                report.add("records", Int64(page.objects.count))
                if out.count >= 1 << 20 {
                    try output.write(out)
                    out.removeAll(keepingCapacity: true)
                    try output.rotateIfFull()
                }
            }
            for name in buckets.keys.sorted() {
                let totals = buckets[name]!
                emit(id: "s3.bucket:\(totals.account):\(name)", .object(common("s3.bucket", totals.account, totals.region, totals.firstPage) + [
                    ("s3", .object([("bucket", .string(name)), ("object_count", .int(totals.objects)), ("total_size", .int(totals.bytes))])),
                ]))
            }
            try output.write(out)
            let files = try output.commit()
            report.add("ndjson_files", Int64(files.count))
        } catch {
            output.discard()
            throw error
        }
        report.add("files")
        logger.info("S3 listing transformed", metadata: ["run": "\(run.runId)", "buckets": "\(buckets.count)", "index": "\(index)"])
    }
}
