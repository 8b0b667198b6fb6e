import Foundation
import Logging

/// The inventory transform: each raw inventory run becomes the documents of
/// every account and region it holds, in the daily index of the run
/// (`awscli-YYYY.MM.DD`): one per resource per day (a later run the same day
/// overwrites it) and one summary per account, region and run.
public final class InventoryTransformer: RawRunTransform {
    public static let collector = InventoryFetcher.collector

    /// `state/inventory-events.json`: the last CloudTrail events known per instance.
    public struct EventsState: Codable, Sendable {
        public var instances: [String: [String]] = [:]
        public init() {}
    }

    public let layout: SpoolLayout
    let naming: IndexNaming
    let maxFileBytes: Int
    let eventsPerInstance: Int
    public let clock: RuntimeClock
    let logger: Logger
    let eventsStore: CheckpointStore<EventsState>
    /// The monitoring section: each run is joined with the monitoring run closest to it.
    let monitoring: MonitoringSettings?
    /// Built on first use: runs without answers to decode do not pay for reading the shape table.
    lazy var decoder = AWSResponseDecoder()

    public init(context: StageContext, eventsPerInstance: Int, monitoring: MonitoringSettings? = nil) {
        self.layout = context.layout
        self.naming = context.naming
        self.maxFileBytes = context.maxFileBytes
        self.eventsPerInstance = eventsPerInstance
        self.clock = context.clock
        self.logger = context.logger
        self.eventsStore = CheckpointStore(layout: context.layout, name: "inventory-events")
        self.monitoring = monitoring
    }

    public func transform(runFolder: URL, outputName: String, replay: Bool, report: inout RunReport) throws {
        let updateEvents = !replay
        let run = try RawRunManifest.read(runFolder: runFolder)
        let collectedAt = RunID(run.runId)?.date ?? clock.now()
        let day = UTCDate.parts(collectedAt)
        let index = "\(naming.inventoryStem)-\(UTCDate.pad(day.year, 4)).\(UTCDate.pad(day.month)).\(UTCDate.pad(day.day))"
        var units: [String: InventoryUnitData] = [:]
        var accountNames: [String: String] = [:]
        for entry in run.entries {
            guard let account = entry.account, let region = entry.region else { continue }
            guard let body = try verifiedData(entry, runFolder: runFolder, runID: run.runId, replay: replay, report: &report) else { continue }
            let value: JSONValue
            do {
                value = try decoder.decode(service: entry.service, operation: entry.operation, body: body)
            } catch let error as CloudspoolError {
                report.errors.append("\(entry.path) of inventory run \(run.runId): \(error.message); that answer is left out")
                report.add("rejected")
                continue
            }
            if entry.service == "organizations" {
                for item in value["Accounts"]?.arrayValue ?? [] {
                    if let id = item["Id"]?.stringValue, let name = item["Name"]?.stringValue { accountNames[id] = name }
                }
                continue
            }
            let key = "\(account)/\(region)"
            units[key, default: InventoryUnitData(account: account, region: region)].pages["\(entry.service)/\(entry.operation)", default: []]
                .append((entry.parameters, value))
            report.add("records")
        }
        for failure in run.failures ?? [] {
            guard let account = failure.account, let region = failure.region else { continue }
            units["\(account)/\(region)", default: InventoryUnitData(account: account, region: region)].failedCalls.insert(failure.call)
        }
        var eventsState = try eventsStore.load() ?? EventsState()
        var events: [String: [JSONValue]] = [:]
        for (key, list) in eventsState.instances {
            events[key] = list.compactMap { try? JSONValueParser.parse(Array($0.utf8)) }
        }
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: outputName, maxFileBytes: maxFileBytes)
        // The current-state index and the change feed follow regular runs only (see InventoryChangeTracker).
        let tracker = replay ? nil : InventoryChangeTracker(layout: layout, naming: naming, events: ResourceEventIndex(layout: layout))
        tracker?.removeTemporaries()
        let changesOutput = try tracker.map { _ in
            try NDJSONOutput(layout: layout, collector: Collector.inventoryChanges.name, baseName: outputName, maxFileBytes: maxFileBytes)
        }
        var states: [(account: String, region: String, state: InventoryUnitState)] = []
        var seenInstances = Set<String>()
        do {
            var monitoringOutcome: MonitoringOutcome?
            if let monitoring {
                let instances = units.keys.sorted().flatMap { key in
                    units[key]!.instances.compactMap { MonitoringInstance(instance: $0.0, account: units[key]!.account, region: units[key]!.region) }
                }
                monitoringOutcome = try MonitoringJoin(settings: monitoring, layout: layout, logger: logger)
                    .join(instances: instances, collectedAt: collectedAt, runID: run.runId, index: index, output: output, report: &report)
            }
            for key in units.keys.sorted() {
                let data = units[key]!
                var builder = InventoryDocumentBuilder(data: data, accountName: accountNames[data.account], runID: run.runId,
                                                       collectedAt: UTCDate.iso8601(collectedAt), index: index, events: events,
                                                       eventsPerInstance: eventsPerInstance, monitoring: monitoringOutcome)
                builder.build()
                if monitoringOutcome != nil {
                    report.add("monitored", Int64(builder.monitoringCounts.monitored))
                    report.add("not_monitored", Int64(builder.monitoringCounts.notMonitored))
                    report.add("monitoring_unknown", Int64(builder.monitoringCounts.unknown))
                }
                events = builder.events
                for (instance, _) in data.instances {
                    if let id = instance["InstanceId"]?.stringValue { seenInstances.insert("\(data.account)/\(data.region)/\(id)") }
                }
                try output.write(builder.output)
                report.add("documents", Int64(builder.documents))
                if let tracker {
                    let outcome = try tracker.process(account: data.account, region: data.region, failedCalls: data.failedCalls,
                                                      resources: builder.resources, summary: builder.summaryDocument,
                                                      runID: run.runId, collectedAt: UTCDate.iso8601(collectedAt))
                    try changesOutput?.write(outcome.output)
                    try changesOutput?.rotateIfFull()
                    if let state = outcome.state { states.append((data.account, data.region, state)) }
                    report.add("changes", Int64(outcome.changes))
                    report.add("current_deletes", Int64(outcome.deletes))
                }
                try output.rotateIfFull()
            }
            let files = try output.commit() + (changesOutput?.commit() ?? [])
            report.add("ndjson_files", Int64(files.count))
        } catch {
            output.discard()
            changesOutput?.discard()
            throw error
        }
        // Only once the NDJSON that carries them is committed: a run interrupted before this point
        // is transformed again against the same state, with the same changes and ids.
        for unit in states {
            try tracker?.save(unit.state, account: unit.account, region: unit.region)
        }
        if updateEvents {
            eventsState.instances = [:]
            for key in seenInstances { eventsState.instances[key] = (events[key] ?? []).map(\.jsonText) }
            try eventsStore.save(eventsState)
        }
        report.add("files")
        logger.info("inventory run transformed", metadata: ["run": "\(run.runId)", "units": "\(units.count)", "index": "\(index)"])
    }
}
