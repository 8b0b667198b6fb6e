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

    /// Calls `body` with each pending run, then records it as done.
    public func forEach(_ body: (URL) throws -> Void) throws {
        for folder in try folders() {
            try body(folder)
            try markDone(folder)
        }
    }

    /// The NDJSON base name of a replay of `runFolder` (new names, so load sends them).
    public static func replayName(_ runFolder: URL, at date: Date) -> String {
        "\(runFolder.lastPathComponent).replay-\(RunID(date: date).value)"
    }
}
