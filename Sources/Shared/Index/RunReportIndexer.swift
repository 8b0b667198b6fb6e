import Foundation
import Logging

/// Indexes the stages' run reports (`runs/<stage>/*.json`) into
/// `cloudspool-runs-YYYY.MM`, so the pipeline's own health (last success,
/// durations, counts, errors by account) is on the log server beside the
/// data. Each report is sent once (`state/load-runs.json`); reports older
/// than the raw retention are removed once indexed.
public struct RunReportIndexer {
    public struct State: Codable, Sendable {
        public var indexed: [String] = []
        public init() {}
    }

    let client: IndexClient
    let layout: SpoolLayout
    let naming: IndexNaming
    let retentionDays: Int
    let clock: RuntimeClock
    let logger: Logger

    public init(client: IndexClient, layout: SpoolLayout, naming: IndexNaming, retentionDays: Int, clock: RuntimeClock, logger: Logger) {
        self.client = client
        self.layout = layout
        self.naming = naming
        self.retentionDays = retentionDays
        self.clock = clock
        self.logger = logger
    }

    public func run(report: inout RunReport) throws {
        let store = CheckpointStore<State>(layout: layout, name: "load-runs")
        var state = try store.load() ?? State()
        var done = Set(state.indexed)
        var body: [UInt8] = []
        var sent: [String] = []
        for stage in ["fetch", "transform", "load"] {
            for name in SpoolFiles.list(layout.runs(stage)) where name.hasSuffix(".json") && !done.contains("\(stage)/\(name)") {
                guard let run = try? JSONDecoder().decode(RunReport.self, from: Data(contentsOf: layout.runs(stage).appendingPathComponent(name))) else { continue }
                let month = String(run.startedAt.prefix(7)).replacingOccurrences(of: "-", with: ".")
                let action: JSONValue = .object([("index", .object([("_index", .string("\(naming.prefix)cloudspool-runs-\(month)")),
                                                                    ("_id", .string("\(stage):\(run.runId)"))]))])
                let document: JSONValue = .object([
                    ("@timestamp", .string(run.startedAt)), ("stage", .string(stage)), ("run_id", .string(run.runId)),
                    ("finished_at", .string(run.finishedAt)), ("seconds", .double(run.seconds)), ("exit_code", .int(Int64(run.exitCode))),
                    ("outcome", .string(run.exitCode == 0 ? "ok" : run.exitCode == 3 ? "partial" : "failed")),
                    ("counts", .object(run.counts.keys.sorted().map { ($0, .int(run.counts[$0]!)) })),
                    ("errors", .array(run.errors.prefix(100).map { .string($0) })), ("error_count", .int(Int64(run.errors.count))),
                ])
                action.write(to: &body)
                body.append(10)
                document.write(to: &body)
                body.append(10)
                sent.append("\(stage)/\(name)")
            }
        }
        guard !sent.isEmpty else { return }
        let response = try client.send(method: "POST", path: "/_bulk", body: Data(body), contentType: "application/x-ndjson")
        guard (200..<300).contains(response.status) else {
            report.errors.append("the index refused the run reports: HTTP \(response.status) \(IndexClient.describe(response)); they are sent again next run")
            return
        }
        let items = try BulkResponse.parse(response.body).items
        for (name, item) in zip(sent, items) where item.isSuccess {
            done.insert(name)
        }
        report.add("run_reports", Int64(items.filter(\.isSuccess).count))
        // Indexed reports past the retention are removed; the checkpoint forgets them.
        let cutoff = clock.now().addingTimeInterval(-Double(retentionDays) * 86_400)
        for name in done {
            let parts = name.split(separator: "/")
            guard parts.count == 2, let date = RunID(String(parts[1].dropLast(5)))?.date, date < cutoff else { continue }
            try? SpoolFiles.remove(layout.runs(String(parts[0])).appendingPathComponent(String(parts[1])))
            done.remove(name)
        }
        state.indexed = done.sorted()
        try store.save(state)
    }
}
