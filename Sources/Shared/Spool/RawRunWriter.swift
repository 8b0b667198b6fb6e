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

    /// Writes the manifest, chained to the collector's previous run, renames
    /// the run into `raw/<collector>/` and records it as the chain's head.
    /// Returns the visible folder.
    @discardableResult
    public func commit(finishedAt: Date) throws -> URL {
        let chain = try ManifestChain.nextLink(layout: layout, collector: collector)
        let bytes = try writeManifest(finishedAt: finishedAt, chain: chain)
        let destination = layout.raw(collector).appendingPathComponent(runID.value, isDirectory: true)
        try SpoolFiles.makeDirectory(layout.raw(collector))
        try SpoolFiles.rename(folder, to: destination)
        try ManifestChain.recordHead(layout: layout, collector: collector, runId: runID.value, manifestBytes: bytes, at: finishedAt)
        return destination
    }

    /// Moves the unfinished run to `target` (a quarantine folder) with its
    /// manifest, so what was stored can still be verified; it is not chained.
    public func setAside(to target: URL, finishedAt: Date) throws {
        try writeManifest(finishedAt: finishedAt, chain: nil)
        try SpoolFiles.move(folder, to: target)
    }

    @discardableResult
    func writeManifest(finishedAt: Date, chain: RawRunManifest.Chain?) throws -> Data {
        let manifest = RawRunManifest(collector: collector, runId: runID.value, startedAt: UTCDate.iso8601(startedAt),
                                      finishedAt: UTCDate.iso8601(finishedAt), entries: entries,
                                      failures: failures.isEmpty ? nil : failures, chain: chain)
        let bytes = try manifest.encoded()
        try SpoolFiles.writeAtomically(bytes, to: folder.appendingPathComponent(RawRunManifest.fileName))
        return bytes
    }

    /// Throws away an unfinished run.
    public func discard() {
        try? SpoolFiles.remove(folder)
    }
}
