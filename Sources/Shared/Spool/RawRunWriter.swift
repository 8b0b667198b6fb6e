import Foundation

/// Builds one raw run folder under `.incoming/fetch/` and makes it visible
/// under `raw/<collector>/` with one rename once its manifest is written.
///
/// Manifest entries are written to a file beside the run as they are added
/// (one JSON object per line), not kept in memory: an organization's
/// inventory run has hundreds of thousands of them. `commit` writes
/// `manifest.json` from that file, one entry per line.
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

    /// Writes the manifest and renames the run into `raw/<collector>/`. Returns the visible folder.
    @discardableResult
    public func commit(finishedAt: Date) throws -> URL {
        // The manifest without entries, then its `"entries":[]` opened up to take the entries file.
        let empty = RawRunManifest(collector: collector, runId: runID.value, startedAt: UTCDate.iso8601(startedAt),
                                   finishedAt: UTCDate.iso8601(finishedAt), entries: [],
                                   failures: failures.isEmpty ? nil : failures)
        let text = String(decoding: try Self.entryEncoder.encode(empty), as: UTF8.self)
        guard let slot = text.range(of: #""entries":[]"#) else {
            throw CloudspoolError(.spool, "cannot write the manifest of \(folder.path): unexpected encoding")
        }
        let url = folder.appendingPathComponent(RawRunManifest.fileName)
        let temp = folder.appendingPathComponent(".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(RawRunManifest.fileName)")
        do {
            let manifest = try OutputFile(creating: temp)
            try manifest.write(String(text[..<slot.lowerBound]) + #""entries":["#)
            if let entriesFile {
                try entriesFile.close()
                self.entriesFile = nil
                try FileChunkCopy.append(entriesURL, to: manifest)
                try manifest.write("\n")
            }
            try manifest.write("]" + String(text[slot.upperBound...]) + "\n")
            try manifest.sync()
            try manifest.close()
            try SpoolFiles.rename(temp, to: url)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
        let destination = layout.raw(collector).appendingPathComponent(runID.value, isDirectory: true)
        try SpoolFiles.makeDirectory(layout.raw(collector))
        try SpoolFiles.rename(folder, to: destination)
        try? FileManager.default.removeItem(at: entriesURL)
        return destination
    }

    /// Throws away an unfinished run.
    public func discard() {
        try? entriesFile?.close()
        entriesFile = nil
        try? SpoolFiles.remove(folder)
        try? FileManager.default.removeItem(at: entriesURL)
    }
}

/// Copies a file's bytes into an `OutputFile`, a chunk at a time.
enum FileChunkCopy {
    static func append(_ source: URL, to output: OutputFile) throws {
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
            try output.write(chunk)
        }
    }
}
