import Foundation

/// Where the CloudTrail logs are and how new ones are found (listing the bucket, or a queue).
public struct CloudTrailSettings: Sendable {
    public let bucket: String
    /// The trail's key prefix (the part before `AWSLogs/`), normalised to end with `/` unless empty.
    public let prefix: String
    public let accounts: [String]
    public let regions: [String]
    /// The first day a fresh checkpoint lists from.
    public let startDate: Date
    public let overlapMinutes: Int
    public let batchObjects: Int
    /// Region of the bucket; defaults to `aws.region`.
    public let bucketRegion: String?
    /// Whether the trail's digest files are fetched and validated (the `digests` collector).
    public let validateDigests: Bool
    /// Queue mode: new log files are announced on this queue instead of found by listing the bucket.
    public let queue: CloudTrailQueueSettings?

    init(reader: inout ConfigNodeReader, today: Date) throws {
        guard let bucket = try reader.string("bucket"), !bucket.isEmpty else {
            throw reader.error("bucket", "is required: the S3 bucket the trail writes to")
        }
        self.bucket = bucket
        var prefix = try reader.string("prefix", default: "")
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        self.prefix = prefix
        accounts = try reader.stringList("accounts")
        for account in accounts where !AccountID.isValid(account) {
            throw reader.error("accounts", "must list 12-digit AWS account ids, not '\(account)'")
        }
        regions = try reader.stringList("regions")
        if let text = try reader.string("start_date") {
            guard let date = UTCDate.parseDay(text) else {
                throw reader.error("start_date", "must be a date like 2026-11-01, not '\(text)'")
            }
            startDate = date
        } else {
            startDate = today.addingTimeInterval(-7 * 86_400)
        }
        overlapMinutes = try reader.int("overlap_minutes", default: 60, range: 0...10_080)
        batchObjects = try reader.int("batch_objects", default: 500, range: 1...1_000_000)
        bucketRegion = try reader.string("bucket_region")
        validateDigests = try reader.bool("validate_digests", default: true)
        queue = try CloudTrailQueueSettings.read(&reader)
    }
}
