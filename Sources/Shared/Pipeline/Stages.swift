import Foundation

/// The work of each stage, called by the thin executables through `StageRunner`.
/// Each stage walks the collector registry (`Collectors.all`); none names a collector.
public enum Stages {
    public static let fetchSummary = ["runs", "files", "calls", "bytes", "listed", "skipped"]
    public static let transformSummary = ["files", "records", "documents", "rejected", "quarantined", "bytes", "ndjson_files"]
    public static let loadSummary = ["files", "documents", "indexed", "deadlettered", "quarantined", "retries", "bytes"]

    /// fetch: each chosen collector (default: every configured one) into raw runs.
    public static func fetch(_ context: StageContext, collectors chosen: [String], _ report: inout RunReport) throws {
        let collectors = chosen.isEmpty ? context.config.configuredCollectors.filter { $0.fetch != nil } : try chosen.map(collector(named:))
        guard !collectors.isEmpty else {
            let sections = Collectors.all.compactMap { $0.fetch != nil ? $0.config?.key : nil }.map { "'\($0)'" }.joined(separator: ", ")
            throw CloudspoolError(.configuration, "\(context.config.file): nothing to fetch: configure one of the sections \(sections)")
        }
        let context = collectors.contains { !$0.awsActions.isEmpty } ? try context.withAWS() : context
        var failures = CollectorFailures()
        for collector in collectors {
            guard let fetch = collector.fetch else {
                throw CloudspoolError(.configuration, "the '\(collector.name)' collector has nothing to fetch")
            }
            failures.run(collector) { try fetch(context, &report) }
        }
        try failures.finish(&report)
    }

    /// transform: pending raw runs (or one replayed path) into NDJSON.
    public static func transform(_ context: StageContext, replay: String?, _ report: inout RunReport) throws {
        if let replay {
            let url = URL(fileURLWithPath: replay)
            let manifest = url.appendingPathComponent(RawRunManifest.fileName)
            let named = FileManager.default.fileExists(atPath: manifest.path) ? (try? RawRunManifest.read(runFolder: url))?.collector : nil
            guard let collector = named.flatMap(Collectors.named) ?? Collectors.all.first(where: \.replaysLooseFiles) else {
                throw CloudspoolError(.configuration, "\(url.path) is not a raw run folder (it has no manifest.json)")
            }
            guard let transform = try collector.transform(context) else {
                throw CloudspoolError(.configuration, "\(context.config.file): the '\(collector.config?.key ?? collector.name)' section is required to transform \(collector.name) runs")
            }
            try transform.replay(path: url, report: &report)
            return
        }
        var failures = CollectorFailures()
        for collector in Collectors.all {
            failures.run(collector) { try collector.transform(context)?.run(report: &report) }
        }
        try failures.finish(&report)
        let retention = Retention(layout: context.layout, settings: context.config.retention, logger: context.logger)
        var removed = 0
        for collector in Collectors.all where collector.retention.raw {
            removed += try retention.pruneRaw(collector: collector.name, now: context.clock.now())
        }
        report.add("raw_runs_removed", Int64(removed))
    }

    /// load: pending NDJSON (or one replayed path) into the index.
    public static func load(_ context: StageContext, replay: String?, _ report: inout RunReport) throws {
        let settings = try context.config.requireIndex()
        var awsCredentials: (any CredentialProvider)?
        if settings.auth == .awsSigV4 {
            awsCredentials = try context.withAWS().requireAWS().credentials
        }
        let client = try IndexClient(settings: settings, environment: context.environment, awsCredentials: awsCredentials, clock: context.clock, logger: context.logger)
        let loader = BulkLoader(client: client, layout: context.layout, settings: settings, clock: context.clock, logger: context.logger)
        if let replay {
            // The collector is the NDJSON folder's name (ndjson/<collector>/...); its templates go first.
            let url = URL(fileURLWithPath: replay).standardizedFileURL
            let folder = SpoolFiles.isDirectory(url) ? url : url.deletingLastPathComponent()
            guard let collector = Collectors.named(folder.lastPathComponent) ?? Collectors.all.first(where: \.replaysLooseFiles) else {
                throw CloudspoolError(.configuration, "\(url.path): not in an ndjson/<collector>/ folder")
            }
            try loader.replay(path: url, collector: collector.name, templates: collector.templates(context.naming), report: &report)
            return
        }
        let index = IndexLoadContext(bulk: loader, client: client)
        var failures = CollectorFailures()
        for collector in Collectors.all {
            failures.run(collector) {
                switch collector.load {
                case .bulk: try loader.run(collector: collector.name, templates: collector.templates(context.naming), report: &report)
                case .custom(let load): try load(context, index, &report)
                case .none: break
                }
            }
        }
        if settings.indexRunReports {
            failures.run(nil) {
                try RunReportIndexer(client: client, layout: context.layout, naming: context.naming, retentionDays: context.config.retention.rawDays,
                                     clock: context.clock, logger: context.logger).run(report: &report)
            }
        }
        try failures.finish(&report)
        let retention = Retention(layout: context.layout, settings: context.config.retention, logger: context.logger)
        var removed = 0
        for collector in Collectors.all where collector.retention.ndjson {
            removed += try retention.pruneNDJSON(collector: collector.name, now: context.clock.now())
        }
        report.add("ndjson_removed", Int64(removed))
    }

    static func collector(named name: String) throws -> Collector {
        guard let collector = Collectors.named(name) else {
            throw CloudspoolError(.configuration, "unknown collector '\(name)' (known: \(Collectors.names.joined(separator: ", ")))")
        }
        return collector
    }
}
