import Foundation
import Logging

/// The inventory transform: each raw inventory run becomes the documents of
/// every account and region it holds, in the daily index of the run
/// (`awscli-YYYY.MM.DD`): one per resource per day (a later run the same day
/// overwrites it) and one summary per account, region and run.
public final class InventoryTransformer: RawRunTransform {
    public static let collector = InventoryFetcher.collector

    public let layout: SpoolLayout
    let naming: IndexNaming
    let ndjson: NDJSONOutput.Settings
    let eventsPerInstance: Int
    public let clock: RuntimeClock
    let logger: Logger
    /// The last CloudTrail events known per instance, one file per account and region.
    let eventState: InventoryEventState
    /// The monitoring section: each run is joined with the monitoring run closest to it.
    let monitoring: MonitoringSettings?
    /// Built on first use: runs without answers to decode do not pay for reading the shape table.
    lazy var decoder = AWSResponseDecoder()
    /// Accounts and regions transformed at once (`transform.workers`).
    let workers: Int

    public init(context: StageContext, eventsPerInstance: Int, monitoring: MonitoringSettings? = nil) {
        self.layout = context.layout
        self.naming = context.naming
        self.ndjson = context.ndjson
        self.eventsPerInstance = eventsPerInstance
        self.clock = context.clock
        self.logger = context.logger
        self.eventState = InventoryEventState(layout: context.layout)
        self.monitoring = monitoring
        self.workers = context.config.transform.workers
    }

    public func transform(runFolder: URL, outputName: String, replay: Bool, report: inout RunReport) throws {
        let run = try RawRunManifest.read(runFolder: runFolder)
        let collectedAt = RunID(run.runId)?.date ?? clock.now()
        let day = UTCDate.parts(collectedAt)
        let index = "\(naming.inventoryStem)-\(UTCDate.pad(day.year, 4)).\(UTCDate.pad(day.month)).\(UTCDate.pad(day.day))"
        // The answers of each account and region: only their manifest entries here; each unit's answers are
        // decoded when its documents are built and dropped after, so an organization's run (hundreds of
        // thousands of answers) is never decoded in memory all at once.
        var units: [String: UnitEntries] = [:]
        var accountNames: [String: String] = [:]
        for entry in run.entries {
            guard let account = entry.account, let region = entry.region else { continue }
            if entry.service == "organizations" {
                guard let value = try decoded(entry, runFolder: runFolder, runID: run.runId, replay: replay, report: &report) else { continue }
                for item in value["Accounts"]?.arrayValue ?? [] {
                    if let id = item["Id"]?.stringValue, let name = item["Name"]?.stringValue { accountNames[id] = name }
                }
                continue
            }
            units["\(account)/\(region)", default: UnitEntries(account: account, region: region)].entries.append(entry)
        }
        for failure in run.failures ?? [] {
            guard let account = failure.account, let region = failure.region else { continue }
            units["\(account)/\(region)", default: UnitEntries(account: account, region: region)].failedCalls.insert(failure.call)
        }
        eventState.units.removeTemporaries()
        let legacyEvents = try eventState.legacyByUnit()
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: outputName, settings: ndjson)
        // The current-state index and the change feed follow regular runs only (see InventoryChangeTracker).
        let tracker = replay ? nil : InventoryChangeTracker(layout: layout, naming: naming, events: ResourceEventIndex(layout: layout))
        tracker?.states.removeTemporaries()
        let changesOutput = try tracker.map { _ in
            try NDJSONOutput(layout: layout, collector: Collector.inventoryChanges.name, baseName: outputName, settings: ndjson)
        }
        var states: [(account: String, region: String)] = []
        var eventUnits: [(account: String, region: String)] = []
        do {
            var monitoringOutcome: MonitoringOutcome?
            if let monitoring {
                // The instances of every unit first (the join needs them all); problems are reported by the pass below.
                let instances = units.keys.sorted().flatMap { key in
                    instancesOnly(units[key]!, runFolder: runFolder).instances.compactMap {
                        MonitoringInstance(instance: $0.0, account: units[key]!.account, region: units[key]!.region)
                    }
                }
                monitoringOutcome = try MonitoringJoin(settings: monitoring, layout: layout, logger: logger)
                    .join(instances: instances, collectedAt: collectedAt, runID: run.runId, index: index, output: output, report: &report)
            }
            // Units are built on `workers` threads (each decodes its answers, builds its documents and compares
            // them with its own state) and written here in the order of their keys, so the NDJSON is the same
            // for any number of workers.
            let keys = units.keys.sorted()
            _ = decoder   // built once, before the workers read it
            let work = UnitWork(transformer: self, units: keys.map { units[$0]! }, legacyEvents: legacyEvents,
                                runFolder: runFolder, runID: run.runId, replay: replay, collectedAt: collectedAt, index: index,
                                accountNames: accountNames, monitoring: monitoringOutcome, tracker: tracker)
            // Units differ widely in size (an account's home region holds most of it): with room for a few results
            // waiting, a worker goes on past a big unit instead of stopping until the writer has it.
            try OrderedWorkers.run(count: keys.count, workers: workers, ahead: 4 * workers, produce: { work.run($0) }) { _, result in
                let unit = try result.get()
                report.merge(unit.report)
                if unit.eventsPending { eventUnits.append((unit.account, unit.region)) }
                try output.write(unit.documents)
                if let changes = unit.changes {
                    try changesOutput?.write(changes.output)
                    try changesOutput?.rotateIfFull()
                    if changes.state != nil { states.append((unit.account, unit.region)) }
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
        try tracker?.states.promote(states)
        if !replay {
            try eventState.promote(eventUnits)
        }
        report.add("files")
        logger.info("inventory run transformed", metadata: ["run": "\(run.runId)", "units": "\(units.count)", "index": "\(index)"])
    }

    /// What one unit gives the run: its documents, its changes, its instances' events, its problems.
    struct BuiltUnit: @unchecked Sendable {
        let account: String
        let region: String
        var report: RunReport
        var documents: [UInt8] = []
        /// Its instances' events were written aside (promoted once the NDJSON is committed).
        var eventsPending = false
        var changes: InventoryChangeTracker.Outcome?
    }

    /// One unit's work, on one of the transform's workers. Everything it reads is shared read-only
    /// (answers on disk, the decoder, the resource-event index, the monitoring join); what it writes is its own
    /// (its pending change-feed state, copies of bad answers in quarantine, its `BuiltUnit`).
    struct UnitWork: @unchecked Sendable {
        let transformer: InventoryTransformer
        let units: [UnitEntries]
        /// `state/inventory-events.json` of earlier versions, by unit, when it is still there.
        let legacyEvents: [String: InventoryEventState.Unit]?
        let runFolder: URL
        let runID: String
        let replay: Bool
        let collectedAt: Date
        let index: String
        let accountNames: [String: String]
        let monitoring: MonitoringOutcome?
        let tracker: InventoryChangeTracker?

        func run(_ position: Int) -> Result<BuiltUnit, Error> {
            Result { try build(units[position]) }
        }

        private func build(_ entries: UnitEntries) throws -> BuiltUnit {
            var unit = BuiltUnit(account: entries.account, region: entries.region,
                                 report: RunReport(stage: "transform", runId: runID, startedAt: collectedAt))
            let data = try transformer.decodedUnit(entries, runFolder: runFolder, runID: runID, replay: replay, report: &unit.report)
            var builder = InventoryDocumentBuilder(data: data, accountName: accountNames[data.account], runID: runID,
                                                   collectedAt: UTCDate.iso8601(collectedAt), index: index,
                                                   events: try transformer.eventState.load(account: data.account, region: data.region,
                                                                                           legacy: legacyEvents),
                                                   eventsPerInstance: transformer.eventsPerInstance, monitoring: monitoring)
            builder.build()
            if monitoring != nil {
                unit.report.add("monitored", Int64(builder.monitoringCounts.monitored))
                unit.report.add("not_monitored", Int64(builder.monitoringCounts.notMonitored))
                unit.report.add("monitoring_unknown", Int64(builder.monitoringCounts.unknown))
            }
            if !replay {
                let seen = data.instances.compactMap { instance, _ in
                    instance["InstanceId"]?.stringValue.map { "\(data.account)/\(data.region)/\($0)" }
                }
                unit.eventsPending = try transformer.eventState.savePending(builder.events, instances: seen,
                                                                            account: data.account, region: data.region)
            }
            unit.documents = builder.output
            unit.report.add("documents", Int64(builder.documents))
            if let tracker {
                let outcome = try tracker.process(account: data.account, region: data.region, failedCalls: data.failedCalls,
                                                  resources: builder.resources, summary: builder.summaryDocument,
                                                  runID: runID, collectedAt: UTCDate.iso8601(collectedAt))
                if let state = outcome.state {
                    try tracker.states.savePending(state, account: data.account, region: data.region)
                }
                unit.report.add("changes", Int64(outcome.changes))
                unit.report.add("current_deletes", Int64(outcome.deletes))
                unit.changes = outcome
            }
            return unit
        }
    }

    /// The manifest entries of one account and region, and the calls of it that failed.
    struct UnitEntries {
        let account: String
        let region: String
        var entries: [RawRunManifest.Entry] = []
        var failedCalls: Set<String> = []
    }

    /// One answer, verified against the manifest and decoded; nil (and the problem reported) when it cannot be.
    func decoded(_ entry: RawRunManifest.Entry, runFolder: URL, runID: String, replay: Bool, report: inout RunReport) throws -> JSONValue? {
        guard let body = try verifiedData(entry, runFolder: runFolder, runID: runID, replay: replay, report: &report) else { return nil }
        do {
            return try decoder.decode(service: entry.service, operation: entry.operation, body: body)
        } catch let error as CloudspoolError {
            report.errors.append("\(entry.path) of inventory run \(runID): \(error.message); that answer is left out")
            report.add("rejected")
            return nil
        }
    }

    /// Every answer of one unit, decoded.
    func decodedUnit(_ unit: UnitEntries, runFolder: URL, runID: String, replay: Bool, report: inout RunReport) throws -> InventoryUnitData {
        var data = InventoryUnitData(account: unit.account, region: unit.region)
        data.failedCalls = unit.failedCalls
        for entry in unit.entries {
            guard let value = try decoded(entry, runFolder: runFolder, runID: runID, replay: replay, report: &report) else { continue }
            data.pages["\(entry.service)/\(entry.operation)", default: []].append((entry.parameters, value))
            report.add("records")
        }
        return data
    }

    /// Only the DescribeInstances answers of a unit (for the monitoring join), without reporting problems.
    func instancesOnly(_ unit: UnitEntries, runFolder: URL) -> InventoryUnitData {
        var data = InventoryUnitData(account: unit.account, region: unit.region)
        for entry in unit.entries where entry.service == "ec2" && entry.operation == "DescribeInstances" {
            guard let body = try? entry.verifiedData(in: runFolder),
                  let value = try? decoder.decode(service: entry.service, operation: entry.operation, body: body) else { continue }
            data.pages["ec2/DescribeInstances", default: []].append((entry.parameters, value))
        }
        return data
    }
}
