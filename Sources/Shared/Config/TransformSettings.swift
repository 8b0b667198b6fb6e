import Foundation

/// How transform writes its output.
public struct TransformSettings: Sendable {
    /// NDJSON files are split at about this many bytes.
    public let maxFileBytes: Int
    /// Input files transformed at once (CloudTrail log files of a raw run, report files of a CUR revision, accounts/regions of an inventory run, pages of an S3 listing run); the output is the same for any number.
    public let workers: Int

    init(reader: inout ConfigNodeReader) throws {
        maxFileBytes = try reader.int("max_file_bytes", default: 64 << 20, range: 4096...(1 << 34))
        workers = try reader.int("workers", default: ProcessInfo.processInfo.activeProcessorCount, range: 1...64)
    }
}
