import Foundation

/// What is waiting in the spool, read without doing any work: raw runs not
/// transformed, NDJSON not yet acknowledged by the index, quarantined input,
/// dead letters, and the last run (and last successful run) of each stage.
public struct SpoolStatus: Sendable {
    public struct Backlog: Sendable {
        public var collector: String
        public var rawRunsWaiting = 0
        public var rawBytesWaiting: Int64 = 0
        public var ndjsonFilesWaiting = 0
        public var ndjsonBytesWaiting: Int64 = 0
        public var deadLetters = 0
    }

    public var backlogs: [Backlog] = []
    public var quarantined: [String: Int] = [:]
    public var lastRuns: [String: (last: RunReport?, lastSuccess: RunReport?)] = [:]

    public static func read(layout: SpoolLayout) -> SpoolStatus {
        var status = SpoolStatus()
        let transformed = (try? CheckpointStore<TransformCheckpoint>(layout: layout, name: "transform").load())??.done ?? [:]
        let acknowledged = (try? CheckpointStore<BulkLoader.State>(layout: layout, name: "load").load())??.files ?? [:]
        for collector in Collectors.names {
            var backlog = Backlog(collector: collector)
            let done = Set(transformed[collector] ?? [])
            for run in SpoolFiles.list(layout.raw(collector)) where !done.contains(run) && RunID(run) != nil {
                backlog.rawRunsWaiting += 1
                backlog.rawBytesWaiting += folderSize(layout.raw(collector).appendingPathComponent(run))
            }
            for name in SpoolFiles.list(layout.ndjson(collector)) where name.hasSuffix(".ndjson") {
                let size = SpoolFiles.size(layout.ndjson(collector).appendingPathComponent(name))
                let done = acknowledged["\(collector)/\(name)"] ?? 0
                if done < size {
                    backlog.ndjsonFilesWaiting += 1
                    backlog.ndjsonBytesWaiting += size - done
                }
            }
            for name in SpoolFiles.list(layout.deadletter(collector)) {
                let text = (try? String(contentsOf: layout.deadletter(collector).appendingPathComponent(name), encoding: .utf8)) ?? ""
                backlog.deadLetters += text.split(separator: "\n").count
            }
            status.backlogs.append(backlog)
        }
        for stage in ["fetch", "transform", "load"] {
            status.quarantined[stage] = countFiles(layout.quarantine(stage)) { $0.hasSuffix(".reason") }
            let reports = SpoolFiles.list(layout.runs(stage)).reversed().compactMap { name -> RunReport? in
                try? JSONDecoder().decode(RunReport.self, from: Data(contentsOf: layout.runs(stage).appendingPathComponent(name)))
            }
            status.lastRuns[stage] = (reports.first, reports.first { $0.exitCode == 0 })
        }
        return status
    }

    static func folderSize(_ url: URL) -> Int64 {
        var total: Int64 = 0
        let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey])
        while let item = enumerator?.nextObject() as? URL {
            total += Int64((try? item.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0)
        }
        return total
    }

    static func countFiles(_ url: URL, where predicate: (String) -> Bool) -> Int {
        var count = 0
        let enumerator = FileManager.default.enumerator(atPath: url.path)
        while let item = enumerator?.nextObject() as? String {
            if predicate(item) { count += 1 }
        }
        return count
    }

    /// The report an operator reads.
    public var text: String {
        var lines = ["collector    raw runs waiting (bytes)    NDJSON files waiting (bytes)    dead letters"]
        for b in backlogs {
            lines.append(b.collector.padding(toLength: 13, withPad: " ", startingAt: 0)
                + "\(b.rawRunsWaiting) (\(b.rawBytesWaiting))".padding(toLength: 28, withPad: " ", startingAt: 0)
                + "\(b.ndjsonFilesWaiting) (\(b.ndjsonBytesWaiting))".padding(toLength: 32, withPad: " ", startingAt: 0)
                + "\(b.deadLetters)")
        }
        lines.append("")
        for stage in ["fetch", "transform", "load"] {
            let runs = lastRuns[stage]
            let last = runs?.last.map { "\($0.startedAt) exit \($0.exitCode)" } ?? "never"
            let success = runs?.lastSuccess.map(\.startedAt) ?? "never"
            lines.append("\(stage): last run \(last); last successful run \(success); quarantined \(quarantined[stage] ?? 0)")
        }
        return lines.joined(separator: "\n")
    }
}
