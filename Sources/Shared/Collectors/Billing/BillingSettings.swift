import Foundation

/// Where the Cost & Usage Reports are.
public struct BillingSettings: Sendable {
    public let bucket: String
    /// The report's S3 path prefix, normalised to end with `/` unless empty.
    public let prefix: String
    /// The legacy CUR report name, or the CUR 2.0 (Data Exports) export name.
    public let reportName: String
    /// Billing periods looked at, the current one included.
    public let months: Int
    public let bucketRegion: String?
    /// Whether a revision with no line items may replace a month that has some (a manifest with `reportKeys: []`).
    public let allowEmptyRevision: Bool
    /// A new revision with this share (percent) fewer line items or less cost than the one in place is not
    /// switched in (reported, exit 3) until the operator accepts it; 100 turns the check off.
    public let maxDropPercent: Int

    /// The defaults, for loading revisions when the billing section was removed from the config.
    static let loadDefaults = (allowEmptyRevision: false, maxDropPercent: 50)

    init(reader: inout ConfigNodeReader) throws {
        guard let bucket = try reader.string("bucket"), !bucket.isEmpty else {
            throw reader.error("bucket", "is required: the S3 bucket the Cost & Usage Report is delivered to")
        }
        self.bucket = bucket
        guard let name = try reader.string("report_name"), !name.isEmpty, !name.contains("/") else {
            throw reader.error("report_name", "is required: the report (or Data Exports export) name, without slashes")
        }
        reportName = name
        var prefix = try reader.string("prefix", default: "")
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        self.prefix = prefix
        months = try reader.int("months", default: 2, range: 1...36)
        bucketRegion = try reader.string("bucket_region")
        allowEmptyRevision = try reader.bool("allow_empty_revision", default: Self.loadDefaults.allowEmptyRevision)
        maxDropPercent = try reader.int("max_drop_percent", default: Self.loadDefaults.maxDropPercent, range: 1...100)
    }
}
