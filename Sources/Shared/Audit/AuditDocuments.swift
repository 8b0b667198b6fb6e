import Foundation

/// The documents of CloudTrail digest validation, in `cloudspool-audit-YYYY.MM`
/// (the month of the digest's end): one per digest (`audit.check:
/// cloudtrail_digest`, `valid` or `invalid` with the reason), one per log
/// file a digest names (`cloudtrail_log`: `valid`, `altered`, `missing`,
/// `not_kept`, `not_fetched`, `pending`), one per fetched log file no digest
/// names (`no_digest`). Ids come from the S3 key, so a later check of the same
/// file replaces the earlier one.
public enum AuditDocuments {
    /// `<prefix>cloudspool-audit-YYYY.MM`.
    public static func index(_ naming: IndexNaming, _ date: Date) -> String {
        let p = UTCDate.parts(date)
        return "\(naming.prefix)cloudspool-audit-\(UTCDate.pad(p.year, 4)).\(UTCDate.pad(p.month))"
    }

    static func id(_ kind: String, bucket: String, key: String) -> String {
        "\(kind):" + SHA256Hex.of(Data("\(bucket)/\(key)".utf8))
    }

    static func cloud(_ key: String) -> JSONValue {
        guard let parsed = CloudTrailKey(anyKey: key) else { return .object([("provider", .string("aws"))]) }
        return .object([("provider", .string("aws")), ("account", .object([("id", .string(parsed.account))])), ("region", .string(parsed.region))])
    }

    static func append(index: String, id: String, _ document: JSONValue, to out: inout [UInt8]) {
        JSONValue.object([("index", .object([("_index", .string(index)), ("_id", .string(id))]))]).write(to: &out)
        out.append(10)
        document.write(to: &out)
        out.append(10)
    }

    /// The digest's document, then one per log file it names.
    public static func append(_ outcome: DigestOutcome, naming: IndexNaming, to out: inout [UInt8]) {
        let stored = outcome.stored
        let end = outcome.digest?.end ?? stored.endTime
        let index = index(naming, end)
        let timestamp = JSONValue.string(UTCDate.iso8601(end))
        let provenance: JSONValue = .object([("collector", .string(Collector.digests.name)), ("run_id", .string(stored.runId)), ("raw_file", .string(stored.path))])
        var digest: [(String, JSONValue)] = [("key", .string(stored.key)), ("chain", .string(outcome.chain))]
        if let d = outcome.digest {
            digest += [("start", .string(d.startTime)), ("end", .string(d.endTime)), ("fingerprint", .string(d.fingerprint)),
                       ("log_files", .int(Int64(d.logFiles.count))), ("sha256", .string(d.hash))]
            if let previous = d.previousKey { digest.append(("previous", .string(previous))) }
        }
        append(index: index, id: id("digest", bucket: stored.bucket, key: stored.key), .object([
            ("@timestamp", timestamp), ("cloud", cloud(stored.key)),
            ("audit", .object([("check", .string("cloudtrail_digest")), ("status", .string(outcome.valid ? "valid" : "invalid")),
                               ("reason", .string(outcome.valid ? "signature, format and link to the previous digest hold" : outcome.problems.joined(separator: "; "))),
                               ("s3_bucket", .string(stored.bucket)), ("s3_key", .string(stored.key)),
                               ("run", .string(stored.runId)), ("file", .string(stored.path)), ("digest", .object(digest))])),
            ("cloudspool", provenance),
        ]), to: &out)
        for log in outcome.logs {
            append(log, timestamp: timestamp, index: index, digestKey: stored.key, provenance: provenance, to: &out)
        }
    }

    /// A log file's document (named by the digest `digestKey`, or by none).
    public static func append(_ log: LogFileOutcome, timestamp: JSONValue, index: String, digestKey: String?, provenance: JSONValue, to out: inout [UInt8]) {
        var audit: [(String, JSONValue)] = [("check", .string("cloudtrail_log")), ("status", .string(log.status.rawValue)), ("reason", .string(log.detail)),
                                            ("s3_bucket", .string(log.bucket)), ("s3_key", .string(log.key))]
        if let run = log.runId { audit.append(("run", .string(run))) }
        if let path = log.path { audit.append(("file", .string(path))) }
        if let digestKey { audit.append(("digest", .object([("key", .string(digestKey))]))) }
        var hashes: [(String, JSONValue)] = []
        if let expected = log.expectedSHA256 { hashes.append(("expected", .string(expected))) }
        if let actual = log.actualSHA256 { hashes.append(("actual", .string(actual))) }
        if !hashes.isEmpty { audit.append(("sha256", .object(hashes))) }
        append(index: index, id: id("log", bucket: log.bucket, key: log.key), .object([
            ("@timestamp", timestamp), ("cloud", cloud(log.key)), ("audit", .object(audit)), ("cloudspool", provenance),
        ]), to: &out)
    }

    /// A fetched log file no digest names.
    public static func appendUndigested(bucket: String, key: String, location: LogFileLocation, deliveredAt: Date, naming: IndexNaming, to out: inout [UInt8]) {
        let log = LogFileOutcome(bucket: bucket, key: key, status: .noDigest, runId: location.runId, path: location.path, expectedSHA256: nil,
                                 actualSHA256: nil, detail: "fetched, but no digest names it although digests cover its time: CloudTrail did not deliver it (or log file validation was off)")
        append(log, timestamp: .string(UTCDate.iso8601(deliveredAt)), index: index(naming, deliveredAt), digestKey: nil,
               provenance: .object([("collector", .string(CloudTrailFetcher.collector)), ("run_id", .string(location.runId)), ("raw_file", .string(location.path))]),
               to: &out)
    }
}
