import Crypto
import Foundation

/// Builds one raw run folder under `.incoming/fetch/` and makes it visible
/// under `raw/<collector>/` with one rename once its manifest is written.
///
/// Manifest entries are written to a file beside the run as they are added
/// (one JSON object per line), not kept in memory: an organization's
/// inventory run has hundreds of thousands of them. The manifest is written
/// from that file, one entry per line, keys sorted, so the same run always
/// has the same bytes (its SHA-256 chains the runs, see `ManifestChain`).
public final class RawRunWriter {
    public let collector: String
    public let runID: RunID
    public let folder: URL
    let layout: SpoolLayout
    let startedAt: Date
    /// The entries written so far, one compact JSON object per line, each but the first starting with a comma.
    let entriesURL: URL
    private var entriesFile: OutputFile?
    /// Entries added so far.
    public private(set) var count = 0
    public private(set) var bytes: Int64 = 0
    /// Calls that failed, written into the manifest.
    public var failures: [RawRunManifest.Failure] = []

    static let entryEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public init(layout: SpoolLayout, collector: String, runID: RunID, startedAt: Date) throws {
        self.layout = layout
        self.collector = collector
        self.runID = runID
        self.startedAt = startedAt
        self.folder = layout.incoming("fetch").appendingPathComponent(runID.value, isDirectory: true)
        self.entriesURL = layout.incoming("fetch").appendingPathComponent(runID.value + ".entries")
        try SpoolFiles.makeDirectory(folder)
    }

    public var isEmpty: Bool { count == 0 }

    /// A file inside the run for `relativePath` (folders created). The path
    /// must be safe (see `SafePath`).
    public func fileURL(_ relativePath: String) throws -> URL {
        let url = folder.appendingPathComponent(relativePath)
        try SpoolFiles.makeDirectory(url.deletingLastPathComponent())
        return url
    }

    /// Adds an entry to the manifest (callers from several threads serialise their calls).
    public func add(_ entry: RawRunManifest.Entry) throws {
        let file: OutputFile
        if let entriesFile {
            file = entriesFile
        } else {
            file = try OutputFile(creating: entriesURL)
            entriesFile = file
        }
        let json: Data
        do {
            json = try Self.entryEncoder.encode(entry)
        } catch {
            throw CloudspoolError(.spool, "cannot encode the manifest entry of \(entry.path): \(error)")
        }
        try file.write(count == 0 ? "\n" : ",\n")
        try file.write(json)
        count += 1
        bytes += entry.size
    }

    /// Writes the manifest, chained to the collector's previous run, renames
    /// the run into `raw/<collector>/` and records it as the chain's head.
    /// Returns the visible folder.
    @discardableResult
    public func commit(finishedAt: Date) throws -> URL {
        let chain = try ManifestChain.nextLink(layout: layout, collector: collector)
        let sha256 = try writeManifest(finishedAt: finishedAt, chain: chain)
        let destination = layout.raw(collector).appendingPathComponent(runID.value, isDirectory: true)
        try SpoolFiles.makeDirectory(layout.raw(collector))
        try SpoolFiles.rename(folder, to: destination)
        try? FileManager.default.removeItem(at: entriesURL)
        try ManifestChain.recordHead(layout: layout, collector: collector, runId: runID.value, manifestSHA256: sha256, at: finishedAt)
        return destination
    }

    /// Moves the unfinished run to `target` (a quarantine folder) with its
    /// manifest, so what was stored can still be verified; it is not chained.
    public func setAside(to target: URL, finishedAt: Date) throws {
        try writeManifest(finishedAt: finishedAt, chain: nil)
        try? FileManager.default.removeItem(at: entriesURL)
        try SpoolFiles.move(folder, to: target)
    }

    /// Writes `manifest.json` (atomically) from the entries file; returns the SHA-256 of its bytes.
    @discardableResult
    func writeManifest(finishedAt: Date, chain: RawRunManifest.Chain?) throws -> String {
        // The manifest without entries, then its `"entries":[]` opened up to take the entries file.
        let empty = RawRunManifest(collector: collector, runId: runID.value, startedAt: UTCDate.iso8601(startedAt),
                                   finishedAt: UTCDate.iso8601(finishedAt), entries: [],
                                   failures: failures.isEmpty ? nil : failures, chain: chain)
        let text = String(decoding: try Self.entryEncoder.encode(empty), as: UTF8.self)
        guard let slot = text.range(of: #""entries":[]"#) else {
            throw CloudspoolError(.spool, "cannot write the manifest of \(folder.path): unexpected encoding")
        }
        let url = folder.appendingPathComponent(RawRunManifest.fileName)
        let temp = folder.appendingPathComponent(".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(RawRunManifest.fileName)")
        var hasher = SHA256()
        do {
            let manifest = try OutputFile(creating: temp)
            func write(_ data: Data) throws {
                hasher.update(data: data)
                try manifest.write(data)
            }
            try write(Data((String(text[..<slot.lowerBound]) + #""entries":["#).utf8))
            if let entriesFile {
                try entriesFile.close()
                self.entriesFile = nil
            }
            if count > 0 {
                try FileChunkCopy.read(entriesURL) { try write($0) }
                try write(Data("\n".utf8))
            }
            try write(Data(("]" + String(text[slot.upperBound...]) + "\n").utf8))
            try manifest.sync()
            try manifest.close()
            try SpoolFiles.rename(temp, to: url)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
        return hasher.finalize().hexString
    }

    /// Throws away an unfinished run.
    public func discard() {
        try? entriesFile?.close()
        entriesFile = nil
        try? SpoolFiles.remove(folder)
        try? FileManager.default.removeItem(at: entriesURL)
    }
}

/// Reads a file a chunk at a time.
enum FileChunkCopy {
    static func read(_ source: URL, _ body: (Data) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: source.path) else {
            throw CloudspoolError(.spool, "cannot read \(source.path): \(systemErrorText())")
        }
        defer { try? handle.close() }
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw CloudspoolError(.spool, "cannot read \(source.path): \(error.localizedDescription)")
            }
            if chunk.isEmpty { return }
            try body(chunk)
        }
    }
}
