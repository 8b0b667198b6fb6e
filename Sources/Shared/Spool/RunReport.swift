import Foundation

/// The outcome of one stage run: written to `runs/<stage>/<run-id>.json`
/// and summarised in the last line the stage prints.
public struct RunReport: Codable, Sendable {
    public var stage: String
    public var runId: String
    public var startedAt: String
    public var finishedAt: String = ""
    public var seconds: Double = 0
    public var exitCode: Int32 = 0
    /// Counters: files, records, bytes, documents, quarantined, deadlettered, errors, ...
    public var counts: [String: Int64] = [:]
    /// Errors, each naming what failed (account, key, file) and what to do.
    public var errors: [String] = []
    /// Set when work was left undone that the next run will retry (retries
    /// exhausted, a peer unreachable): the run fails (exit 1) rather than
    /// finishing partially (exit 3).
    public var incomplete = false

    public init(stage: String, runId: String, startedAt: Date) {
        self.stage = stage
        self.runId = runId
        self.startedAt = UTCDate.iso8601(startedAt)
    }

    /// Records an error that leaves work for the next run.
    public mutating func addRetryLater(_ error: String) {
        errors.append(error)
        incomplete = true
    }

    public mutating func add(_ counter: String, _ value: Int64 = 1) {
        counts[counter, default: 0] += value
    }

    public func count(_ counter: String) -> Int64 { counts[counter] ?? 0 }

    /// Adds another (partial) report's counters and errors to this one.
    public mutating func merge(_ other: RunReport) {
        for (key, value) in other.counts { counts[key, default: 0] += value }
        errors.append(contentsOf: other.errors)
        if other.incomplete { incomplete = true }
    }

    /// `files=3 records=120 ...` in a fixed order, then any other counters.
    public func summaryLine(order: [String]) -> String {
        var parts = order.map { "\($0)=\(count($0))" }
        for key in counts.keys.sorted() where !order.contains(key) { parts.append("\(key)=\(counts[key]!)") }
        parts.append("errors=\(errors.count)")
        parts.append(String(format: "seconds=%.2f", seconds))
        return parts.joined(separator: " ")
    }

    public func save(layout: SpoolLayout) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try SpoolFiles.writeAtomically(try encoder.encode(self), to: layout.runs(stage).appendingPathComponent("\(runId).json"))
    }
}
