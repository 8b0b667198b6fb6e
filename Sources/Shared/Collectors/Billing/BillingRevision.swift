import Foundation

/// What transform says about one report revision it wrote
/// (`ndjson/billing/<run-id>.revision.json`, written after the revision's
/// NDJSON files, so its presence means they are all there). Load indexes the
/// files into `physicalIndex`, checks the count, and points `alias` at it.
public struct BillingRevision: Codable, Sendable {
    public var version: Int = 1
    public var runId: String
    /// `2026.11`
    public var period: String
    public var revision: String
    public var format: String
    public var physicalIndex: String
    public var alias: String
    public var documents: Int64
    public var files: [String]
    /// The index mappings (JSON text) derived from the manifest's column types.
    public var mappingsJSON: String

    public static let suffix = ".revision.json"

    /// Index names allow lower-case letters, digits, `-` and `_`.
    public static func indexSafe(_ text: String) -> String {
        String(text.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" || $0 == "_" ? $0 : "-" }.prefix(80))
    }
}
