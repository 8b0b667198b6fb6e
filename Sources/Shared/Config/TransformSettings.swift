import Foundation

/// How transform writes its output.
public struct TransformSettings: Sendable {
    /// NDJSON files are split at about this many bytes.
    public let maxFileBytes: Int

    init(reader: inout ConfigNodeReader) throws {
        maxFileBytes = try reader.int("max_file_bytes", default: 64 << 20, range: 4096...(1 << 34))
    }
}
