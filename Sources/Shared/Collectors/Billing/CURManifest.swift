import Foundation

/// A Cost & Usage Report manifest, legacy CUR or CUR 2.0 (Data Exports), in
/// one model: which revision (assembly/execution) it describes, for which
/// billing period, its columns with their types, and its report files.
public struct CURManifest: Sendable, Equatable {
    /// Which kind of report wrote the manifest.
    public enum Format: String, Sendable, Codable {
        /// Legacy CUR: `<prefix><report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json`.
        case legacy
        /// CUR 2.0 / Data Exports: `<prefix><export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`.
        case cur2
    }

    /// A column and the type the manifest gives it.
    public struct Column: Sendable, Equatable {
        /// The name as it appears in the CSV header (`lineItem/UnblendedCost`, `line_item_unblended_cost`).
        public let name: String
        /// The manifest's type, lower-cased (`string`, `bigdecimal`, `datetime`, `interval`, `double`, `timestamp`, `map`, ...).
        public let type: String
    }

    public let format: Format
    /// `assemblyId` (legacy) or `executionId` (CUR 2.0): what identifies a revision.
    public let revisionId: String
    /// The first day of the billing period (UTC).
    public let periodStart: Date
    public let columns: [Column]
    /// S3 keys of the report files, in order.
    public let reportKeys: [String]
    /// The payer account, when the manifest says.
    public let account: String?
    /// `text/csv`, `Parquet`, ...: anything but CSV is refused.
    public let contentType: String

    /// `2026.11`, the index suffix of the period.
    public var periodSuffix: String {
        let p = UTCDate.parts(periodStart)
        return "\(UTCDate.pad(p.year, 4)).\(UTCDate.pad(p.month))"
    }

    /// Parses a manifest. `key` (its S3 key) supplies the period when a CUR 2.0 manifest does not.
    public static func parse(_ data: Data, format: Format, key: String) throws -> CURManifest {
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CloudspoolError(.format, "the report manifest \(key) is not a JSON object")
        }
        let revision: String?
        var keys: [String] = []
        switch format {
        case .legacy:
            revision = json["assemblyId"] as? String
            keys = json["reportKeys"] as? [String] ?? []
        case .cur2:
            revision = json["executionId"] as? String ?? json["assemblyId"] as? String
            for uri in json["dataFiles"] as? [String] ?? [] {
                // s3://bucket/key -> key
                guard uri.hasPrefix("s3://"), let slash = uri.dropFirst(5).firstIndex(of: "/") else {
                    throw CloudspoolError(.format, "the report manifest \(key) lists a data file that is not an s3:// URI: \(uri)")
                }
                keys.append(String(uri[uri.index(after: slash)...]))
            }
            if keys.isEmpty { keys = json["reportKeys"] as? [String] ?? [] }
        }
        guard let revision, !revision.isEmpty else {
            throw CloudspoolError(.format, "the report manifest \(key) has no \(format == .legacy ? "assemblyId" : "executionId")")
        }
        let columns: [Column] = (json["columns"] as? [[String: Any]] ?? []).compactMap { column in
            guard let name = column["name"] as? String else { return nil }
            var full = name
            if format == .legacy, let category = column["category"] as? String, !category.isEmpty, !name.hasPrefix(category + "/") {
                full = "\(category)/\(name)"
            }
            return Column(name: full, type: (column["type"] as? String ?? "string").lowercased())
        }
        let start = (json["billingPeriod"] as? [String: Any])?["start"] as? String
        guard let periodStart = start.flatMap(parsePeriodStart) ?? periodFromKey(key) else {
            throw CloudspoolError(.format, "the report manifest \(key) has no billing period start I can read")
        }
        var contentType = json["contentType"] as? String ?? ""
        if contentType.isEmpty, let first = keys.first {
            contentType = first.lowercased().contains(".parquet") ? "Parquet" : "text/csv"
        }
        return CURManifest(format: format, revisionId: revision, periodStart: periodStart, columns: columns, reportKeys: keys,
                           account: json["account"] as? String, contentType: contentType)
    }

    /// Whether the report files are gzip or plain CSV; Parquet (or anything else) is refused with a clear message.
    public func checkSupported(key: String) throws {
        let isParquet = contentType.lowercased().contains("parquet") || reportKeys.contains { $0.lowercased().hasSuffix(".parquet") }
        if isParquet {
            throw CloudspoolError(.format, "the report \(key) is in Parquet format, which is not supported: configure the report (or Data Exports export) to deliver CSV compressed with GZIP")
        }
        if let bad = reportKeys.first(where: { !$0.hasSuffix(".csv.gz") && !$0.hasSuffix(".csv") && !$0.hasSuffix(".gz") }) {
            throw CloudspoolError(.format, "the report \(key) lists \(bad), which is not a CSV or gzip CSV file (ZIP and Parquet are not supported: choose GZIP CSV)")
        }
    }

    /// `20261101T000000.000Z` or an ISO 8601 time.
    static func parsePeriodStart(_ text: String) -> Date? {
        let digits = Array(text.utf8)
        if digits.count >= 8, digits[8...].first == UInt8(ascii: "T"), digits.prefix(8).allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            return UTCDate.parseDay("\(text.prefix(4))-\(text.dropFirst(4).prefix(2))-\(text.dropFirst(6).prefix(2))")
        }
        if let date = UTCDate.parseISO8601(text) { return date }
        return UTCDate.parseDay(String(text.prefix(10)))
    }

    /// `…/BILLING_PERIOD=2026-11/…` or `…/20261101-20261201/…`.
    static func periodFromKey(_ key: String) -> Date? {
        if let range = key.range(of: "BILLING_PERIOD=") {
            return UTCDate.parseDay(String(key[range.upperBound...].prefix(7)) + "-01")
        }
        for segment in key.split(separator: "/") where segment.count == 17 && segment.dropFirst(8).first == "-" {
            return UTCDate.parseDay("\(segment.prefix(4))-\(segment.dropFirst(4).prefix(2))-\(segment.dropFirst(6).prefix(2))")
        }
        return nil
    }
}
