import Foundation
import Logging

/// Removes finished work older than the configured retention, and never
/// anything the next stage has not finished. Quarantine and dead letters are
/// never removed.
public struct Retention: Sendable {
    let layout: SpoolLayout
    let settings: RetentionSettings
    let logger: Logger

    public init(layout: SpoolLayout, settings: RetentionSettings, logger: Logger) {
        self.layout = layout
        self.settings = settings
        self.logger = logger
    }

    /// Raw runs of `collector` that transform has finished and that are older than `raw_days`.
    public func pruneRaw(collector: String, now: Date) throws -> Int {
        let store = CheckpointStore<TransformCheckpoint>(layout: layout, name: "transform")
        guard var state = try store.load() else { return 0 }
        var done = Set(state.done[collector] ?? [])
        let cutoff = now.addingTimeInterval(-Double(settings.rawDays) * 86_400)
        var removed = 0
        let expired = SpoolFiles.list(layout.raw(collector)).filter { name in
            guard done.contains(name), let date = RunID(name)?.date else { return false }
            return date < cutoff
        }
        // The chain must survive: record each run (manifest hash, link, files still in quarantine) before it goes.
        try ManifestChain.recordPruned(layout: layout, collector: collector, runs: expired.map { name in
            ManifestChain.prunedRun(folder: layout.raw(collector).appendingPathComponent(name),
                                    quarantine: layout.quarantine("transform").appendingPathComponent(name, isDirectory: true), at: now)
        })
        for name in expired {
            try SpoolFiles.remove(layout.raw(collector).appendingPathComponent(name))
            done.remove(name)
            removed += 1
        }
        // Forget finished runs whose folders are gone.
        let present = Set(SpoolFiles.list(layout.raw(collector)))
        let kept = (state.done[collector] ?? []).filter { present.contains($0) }
        if kept.count != (state.done[collector] ?? []).count {
            state.done[collector] = kept
            try store.save(state)
        }
        if removed > 0 { logger.info("retention removed raw runs", metadata: ["collector": "\(collector)", "runs": "\(removed)"]) }
        return removed
    }

    /// NDJSON files of `collector` the index has fully acknowledged, older than `ndjson_days`.
    public func pruneNDJSON(collector: String, now: Date) throws -> Int {
        let store = CheckpointStore<BulkLoader.State>(layout: layout, name: "load")
        guard var state = try store.load() else { return 0 }
        let folder = layout.ndjson(collector)
        let cutoff = now.addingTimeInterval(-Double(settings.ndjsonDays) * 86_400)
        var removed = 0
        for name in SpoolFiles.list(folder) {
            let url = folder.appendingPathComponent(name)
            let key = "\(collector)/\(name)"
            guard let acknowledged = state.files[key], acknowledged >= SpoolFiles.size(url),
                  let modified = SpoolFiles.modificationDate(url), modified < cutoff else { continue }
            try SpoolFiles.remove(url)
            state.files[key] = nil
            removed += 1
        }
        let present = Set(SpoolFiles.list(folder))
        let stale = state.files.keys.filter { $0.hasPrefix("\(collector)/") && !present.contains(String($0.dropFirst(collector.count + 1))) }
        for key in stale { state.files[key] = nil }
        if removed > 0 || !stale.isEmpty { try store.save(state) }
        if removed > 0 { logger.info("retention removed NDJSON files", metadata: ["collector": "\(collector)", "files": "\(removed)"]) }
        return removed
    }
}
