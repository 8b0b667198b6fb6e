import Foundation

/// How transform writes its output.
public struct TransformSettings: Sendable {
    /// NDJSON files are split at about this many bytes.
    public let maxFileBytes: Int
    /// Input files transformed at once (CloudTrail log files of a raw run, report files of a CUR revision, accounts/regions of an inventory run, pages of an S3 listing run); the output is the same for any number.
    public let workers: Int

    /// NDJSON is written to disk every this many bytes and leaves the page cache once there (0: left to the kernel); see ``WriteBehind``.
    public let writeBehindBytes: Int

    init(reader: inout ConfigNodeReader) throws {
        maxFileBytes = try reader.int("max_file_bytes", default: 64 << 20, range: 4096...(1 << 34))
        workers = try reader.int("workers", default: ProcessInfo.processInfo.activeProcessorCount, range: 1...64)
        writeBehindBytes = try reader.int("write_behind_bytes", default: 8 << 20, range: 0...(1 << 34))
    }

    /// What every NDJSON output of a transform run is written with.
    public var ndjson: NDJSONOutput.Settings {
        NDJSONOutput.Settings(maxFileBytes: maxFileBytes, writeBehindBytes: writeBehindBytes)
    }
}
