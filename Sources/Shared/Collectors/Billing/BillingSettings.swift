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
    }
}
