import Crypto
import Foundation

/// A raw file that is not what fetch stored: its size or SHA-256 differs from
/// the run's manifest (changed or cut after fetch), or it is gone.
public struct RawFileMismatch: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

extension RawRunManifest.Entry {
    /// Checks the stored file against the manifest (size, then SHA-256, read in chunks).
    public func verify(in runFolder: URL) throws {
        let url = runFolder.appendingPathComponent(path)
        try checkSize(of: url)
        var hasher = SHA256()
        do {
            try FileChunkReader.read(url, chunkSize: 1 << 20) { hasher.update(bufferPointer: $0) }
        } catch {
            throw RawFileMismatch(path: path, reason: "cannot be read: it \(FileProblem.describe(url.path, error))")
        }
        try checkDigest(hasher.finalize().hexString)
    }

    /// The stored file's bytes, checked against the manifest.
    public func verifiedData(in runFolder: URL) throws -> Data {
        let url = runFolder.appendingPathComponent(path)
        try checkSize(of: url)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw RawFileMismatch(path: path, reason: "cannot be read: it \(FileProblem.describe(url.path, error))")
        }
        try checkDigest(SHA256Hex.of(data))
        return data
    }

    /// Checks that the stored file is a regular file of the manifest's size (the digest is checked apart).
    func checkStoredFile(in runFolder: URL) throws {
        try checkSize(of: runFolder.appendingPathComponent(path))
    }

    private func checkSize(of url: URL) throws {
        var info = stat()
        guard lstat(url.path, &info) == 0 else {
            throw RawFileMismatch(path: path, reason: "is listed in the manifest but missing")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw RawFileMismatch(path: path, reason: "is not a regular file (a symbolic link?): cloudspool never follows links inside the spool")
        }
        guard Int64(info.st_size) == size else {
            throw RawFileMismatch(path: path, reason: "has \(info.st_size) bytes, the manifest says \(size): changed after fetch")
        }
    }

    /// Compares a SHA-256 (lower-case hex) computed over the stored file with the manifest's.
    func checkDigest(_ digest: String) throws {
        guard digest == sha256 else {
            throw RawFileMismatch(path: path, reason: "its SHA-256 \(digest) differs from the manifest's \(sha256): changed after fetch")
        }
    }
}

extension RawRunTransform {
    /// The stored file of `entry`, checked against the manifest; nil when it
    /// does not match, after reporting it and (for regular runs) putting a copy
    /// in quarantine with the reason (the raw run itself is left as it is, for audit).
    func verifiedData(_ entry: RawRunManifest.Entry, runFolder: URL, runID: String, replay: Bool, report: inout RunReport) throws -> Data? {
        do {
            return try entry.verifiedData(in: runFolder)
        } catch let mismatch as RawFileMismatch {
            Self.setAside(mismatch, entry: entry, runFolder: runFolder, runID: runID, replay: replay, layout: layout, report: &report)
            return nil
        }
    }

    static func setAside(_ mismatch: RawFileMismatch, entry: RawRunManifest.Entry, runFolder: URL, runID: String, replay: Bool,
                         layout: SpoolLayout, report: inout RunReport) {
        let url = runFolder.appendingPathComponent(entry.path)
        var message = "\(Self.collector) run \(runID): \(mismatch); left out"
        if !replay, FileManager.default.fileExists(atPath: url.path) {
            if let target = try? Quarantine(layout: layout, stage: "transform").add(file: url, runID: runID, relativePath: entry.path,
                                                                                      reason: mismatch.description, keepOriginal: true) {
                message += "; a copy is in \(target.path)"
            }
        }
        report.errors.append(message)
        report.add("quarantined")
    }
}
