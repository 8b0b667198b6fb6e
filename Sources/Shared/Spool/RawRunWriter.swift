import Foundation

/// Builds one raw run folder under `.incoming/fetch/` and makes it visible
/// under `raw/<collector>/` with one rename once its manifest is written.
public final class RawRunWriter {
    public let collector: String
    public let runID: RunID
    public let folder: URL
    let layout: SpoolLayout
    let startedAt: Date
    public private(set) var entries: [RawRunManifest.Entry] = []
    public private(set) var bytes: Int64 = 0
    /// Calls that failed, written into the manifest.
    public var failures: [RawRunManifest.Failure] = []

    public init(layout: SpoolLayout, collector: String, runID: RunID, startedAt: Date) throws {
        self.layout = layout
        self.collector = collector
        self.runID = runID
        self.startedAt = startedAt
        self.folder = layout.incoming("fetch").appendingPathComponent(runID.value, isDirectory: true)
        try SpoolFiles.makeDirectory(folder)
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// A file inside the run for `relativePath` (folders created). The path
    /// must be safe (see `SafePath`).
    public func fileURL(_ relativePath: String) throws -> URL {
        let url = folder.appendingPathComponent(relativePath)
        try SpoolFiles.makeDirectory(url.deletingLastPathComponent())
        return url
    }

    public func add(_ entry: RawRunManifest.Entry) {
        entries.append(entry)
        bytes += entry.size
    }

    /// Writes the manifest and renames the run into `raw/<collector>/`. Returns the visible folder.
    @discardableResult
    public func commit(finishedAt: Date) throws -> URL {
        let manifest = RawRunManifest(collector: collector, runId: runID.value, startedAt: UTCDate.iso8601(startedAt),
                                      finishedAt: UTCDate.iso8601(finishedAt), entries: entries,
                                      failures: failures.isEmpty ? nil : failures)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try SpoolFiles.writeAtomically(try encoder.encode(manifest), to: folder.appendingPathComponent(RawRunManifest.fileName))
        let destination = layout.raw(collector).appendingPathComponent(runID.value, isDirectory: true)
        try SpoolFiles.makeDirectory(layout.raw(collector))
        try SpoolFiles.rename(folder, to: destination)
        return destination
    }

    /// Throws away an unfinished run.
    public func discard() {
        try? SpoolFiles.remove(folder)
    }
}
