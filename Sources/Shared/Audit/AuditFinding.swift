import Crypto
import Foundation

/// Something an audit found that is not as it was captured: the kind (what a
/// person reads in the table, and what monitoring greps for), where it is,
/// and what exactly differs.
public struct AuditFinding: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A file the manifest lists is not in the run (nor in quarantine).
        case missing
        /// A file's size or SHA-256 differs from its manifest entry.
        case altered
        /// A file in a run that its manifest does not list.
        case unlisted
        /// A manifest that cannot be read, or that contradicts its folder.
        case manifest
        /// The chain of runs is broken: a run deleted, a manifest rewritten, a run inserted.
        case chain
        /// Something in the capture area that fetch did not write.
        case foreign
        /// A file the audit could not read.
        case unreadable
        /// A CloudTrail digest that does not validate (signature, key, format, location).
        case digest
        /// A log file that CloudTrail delivered but that differs from what its digest states, or a log file no digest names.
        case log
    }

    public let kind: Kind
    public let collector: String
    public let runId: String?
    /// The path inside the spool (or the S3 key, for CloudTrail findings).
    public let path: String?
    public let detail: String

    public init(_ kind: Kind, collector: String, runId: String?, path: String?, detail: String) {
        self.kind = kind
        self.collector = collector
        self.runId = runId
        self.path = path
        self.detail = detail
    }

    var json: JSONValue {
        .object([("kind", .string(kind.rawValue)), ("collector", .string(collector)), ("run", runId.map(JSONValue.string) ?? .null),
                 ("path", path.map(JSONValue.string) ?? .null), ("detail", .string(detail))])
    }
}

/// Size and SHA-256 of a file, read in chunks.
enum FileDigest {
    static func of(_ url: URL) throws -> (size: Int64, sha256: String) {
        var hasher = SHA256()
        var size: Int64 = 0
        try FileChunkReader.read(url, chunkSize: 1 << 20) { chunk in
            hasher.update(bufferPointer: chunk)
            size += Int64(chunk.count)
        }
        return (size, hasher.finalize().hexString)
    }

    /// What differs between `url` and the entry (`nil` when it matches).
    static func mismatch(_ url: URL, size: Int64, sha256: String) throws -> String? {
        let actual = try of(url)
        if actual.size == size && actual.sha256 == sha256 { return nil }
        var parts: [String] = []
        if actual.size != size { parts.append("size \(actual.size), the manifest says \(size)") }
        if actual.sha256 != sha256 { parts.append("SHA-256 \(actual.sha256), the manifest says \(sha256)") }
        return parts.joined(separator: "; ") + ": it changed after fetch stored it; check who can write the spool, restore it from a backup"
    }
}

/// Byte counts for people.
enum ByteCount {
    static func text(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}

/// A plain text table: columns padded to their widest cell.
struct TextTable {
    let header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) {
        self.header = header
    }

    mutating func add(_ row: [String]) {
        rows.append(row)
    }

    var text: String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
