import Foundation

/// `state/transform.json`: the raw runs transform has finished, per collector.
public struct TransformCheckpoint: Codable, Sendable {
    public var done: [String: [String]] = [:]
    public init() {}
}

/// The raw runs of one collector that transform has not finished, oldest
/// first, and the checkpoint that records each as done.
public struct PendingRawRuns: Sendable {
    public let layout: SpoolLayout
    public let collector: String
    let store: CheckpointStore<TransformCheckpoint>

    public init(layout: SpoolLayout, collector: String) {
        self.layout = layout
        self.collector = collector
        self.store = CheckpointStore(layout: layout, name: "transform")
    }

    /// Run folders under `raw/<collector>/` not recorded as done.
    public func folders() throws -> [URL] {
        let done = Set(try store.load()?.done[collector] ?? [])
        let folder = layout.raw(collector)
        return SpoolFiles.list(folder).filter { !done.contains($0) && RunID($0) != nil }
            .map { folder.appendingPathComponent($0, isDirectory: true) }
    }

    public func markDone(_ runFolder: URL) throws {
        var state = try store.load() ?? TransformCheckpoint()
        state.done[collector, default: []].append(runFolder.lastPathComponent)
        try store.save(state)
    }

    /// Calls `body` with each pending run, then records it as done. A folder
    /// that is not a raw run (no `manifest.json`: copied in by hand, not by
    /// fetch) is moved to `quarantine/transform/` with the reason, and the
    /// others go on.
    public func forEach(report: inout RunReport, _ body: (URL, inout RunReport) throws -> Void) throws {
        for folder in try folders() {
            try StopRequest.checkpoint("before raw run \(folder.lastPathComponent)")
            guard try setAsideIfNotARun(folder, report: &report) == false else { continue }
            try body(folder, &report)
            try markDone(folder)
        }
    }

    /// Moves a folder without a manifest out of the way; returns whether it did.
    public func setAsideIfNotARun(_ folder: URL, report: inout RunReport) throws -> Bool {
        guard !FileManager.default.fileExists(atPath: folder.appendingPathComponent(RawRunManifest.fileName).path) else { return false }
        let target = layout.quarantine("transform").appendingPathComponent("\(collector)-\(folder.lastPathComponent)", isDirectory: true)
        try SpoolFiles.move(folder, to: target)
        let reason = "raw/\(collector)/\(folder.lastPathComponent) has no manifest.json, so it was not written by cloudspool-fetch; it was moved here untouched. If it is a raw run copied by hand, give it its manifest and move it back."
        try SpoolFiles.writeAtomically(Data((reason + "\n").utf8), to: target.appendingPathExtension("reason"))
        report.errors.append("set aside raw/\(collector)/\(folder.lastPathComponent): not a raw run (no manifest.json); see \(target.path).reason")
        report.add("quarantined")
        return true
    }

    /// The NDJSON base name of a replay of `runFolder` (new names, so load sends them).
    public static func replayName(_ runFolder: URL, at date: Date) -> String {
        "\(runFolder.lastPathComponent).replay-\(RunID(date: date).value)"
    }
}
