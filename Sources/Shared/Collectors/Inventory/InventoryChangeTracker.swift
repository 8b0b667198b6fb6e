import Crypto
import Foundation

/// Keeps the current-state index and the change feed of the inventory.
///
/// For each account and region it compares this run's resources with the
/// last complete collection of the same kind (`InventoryUnitState`) and
/// writes, beside the daily documents:
/// - every resource again into the current-state index (`awscli-current`,
///   one document per live resource, the same id as in the daily index), and
///   a delete for each resource gone since the last complete collection;
/// - one change document per created, modified or deleted resource into
///   `awscli-changes-YYYY.MM`, with the changed leaves (old and new values),
///   the time window and the CloudTrail events that explain it.
///
/// Only a complete collection of a kind (none of its calls failed) can say a
/// resource is gone or changed; an incomplete one leaves that kind's state
/// as it was. Runs are taken in order: a run older than the state (an old
/// run transformed late) only writes its daily documents; the same run again
/// (after an interruption) sends what it sent the first time.
struct InventoryChangeTracker {
    /// `state/inventory-current/`: one `InventoryUnitState` per account and region.
    let states: UnitStateFolder<InventoryUnitState>
    let currentIndex: String
    let changesStem: String
    let events: ResourceEventIndex

    static let stateVersion = 1

    init(layout: SpoolLayout, naming: IndexNaming, events: ResourceEventIndex) {
        states = UnitStateFolder(layout.state.appendingPathComponent("inventory-current", isDirectory: true), version: Self.stateVersion)
        currentIndex = naming.currentIndex
        changesStem = naming.changesStem
        self.events = events
    }

    /// What one account and region adds to the NDJSON, and the state to save once that NDJSON is committed.
    struct Outcome {
        var output: [UInt8] = []
        var state: InventoryUnitState?
        var changes = 0
        var deletes = 0
    }

    func process(account: String, region: String, failedCalls: Set<String>, resources: [InventoryResource], summary: InventoryResource?,
                 runID: String, collectedAt: String) throws -> Outcome {
        var outcome = Outcome()
        let previous = try states.load(account: account, region: region)
        if let previous, previous.runId > runID { return outcome }
        for resource in resources { append(index: currentIndex, id: resource.documentID, document: resource.document, to: &outcome.output) }
        if let summary {
            append(index: currentIndex, id: "summary:\(account):\(region)", document: summary.document, to: &outcome.output)
        }
        if let previous, previous.runId == runID {
            outcome.output.append(contentsOf: previous.lastExtra.utf8)
            return outcome
        }
        var state = previous ?? InventoryUnitState(runId: runID)
        state.runId = runID
        var extra: [UInt8] = []
        let byType = Dictionary(grouping: resources, by: \.type)
        for kind in InventoryResourceKind.all where kind.calls.allSatisfy({ !failedCalls.contains($0) }) {
            var now: [String: InventoryUnitState.ResourceState] = [:]
            var seen: [String: InventoryResource] = [:]
            for resource in byType[kind.type] ?? [] {
                now[resource.id] = .init(documentID: resource.documentID, name: resource.name,
                                         leaves: kind.tracked ? ResourceFlattener.leaves(of: resource.resource, ignoring: kind.ignored) : [:])
                seen[resource.id] = resource
            }
            if let before = previous?.kinds[kind.type] {
                let window = (start: before.collectedAt, end: collectedAt)
                for id in before.resources.keys.sorted() where now[id] == nil {
                    let gone = before.resources[id]!
                    extra.append(contentsOf: #"{"delete":{"_index":"#.utf8)
                    JSONText.appendString(currentIndex, to: &extra)
                    extra.append(contentsOf: #","_id":"#.utf8)
                    JSONText.appendString(gone.documentID, to: &extra)
                    extra.append(contentsOf: "}}\n".utf8)
                    outcome.deletes += 1
                    if kind.tracked {
                        appendChange(action: "deleted", type: kind.type, id: id, name: gone.name, account: account, region: region,
                                     changed: [], window: window, runID: runID, previousRunID: before.runId, to: &extra)
                        outcome.changes += 1
                    }
                }
                if kind.tracked {
                    for id in now.keys.sorted() {
                        guard let old = before.resources[id] else {
                            appendChange(action: "created", type: kind.type, id: id, name: now[id]!.name, account: account, region: region,
                                         changed: [], window: window, runID: runID, previousRunID: before.runId, to: &extra)
                            outcome.changes += 1
                            continue
                        }
                        let new = now[id]!.leaves
                        let paths = Set(old.leaves.keys).union(new.keys).filter { old.leaves[$0] != new[$0] }.sorted()
                        guard !paths.isEmpty else { continue }
                        appendChange(action: "modified", type: kind.type, id: id, name: now[id]!.name, account: account, region: region,
                                     changed: paths.map { ($0, old.leaves[$0], new[$0]) }, window: window, runID: runID,
                                     previousRunID: before.runId, to: &extra)
                        outcome.changes += 1
                    }
                }
            }
            state.kinds[kind.type] = .init(runId: runID, collectedAt: collectedAt, resources: now)
        }
        state.lastExtra = String(decoding: extra, as: UTF8.self)
        outcome.output.append(contentsOf: extra)
        outcome.state = state
        return outcome
    }

    /// The most changed leaves one change document lists (the count says how many there were).
    static let maxChangedLeaves = 200

    private func appendChange(action: String, type: String, id: String, name: String?, account: String, region: String,
                              changed: [(path: String, old: String?, new: String?)], window: (start: String, end: String),
                              runID: String, previousRunID: String, to out: inout [UInt8]) {
        var documentID = "\(type):\(account):\(region):\(id):\(runID)"
        if documentID.utf8.count > 400 { documentID = SHA256.hash(data: Data(documentID.utf8)).hexString }
        let day = window.end.prefix(7).replacingOccurrences(of: "-", with: ".")
        let explaining = events.events(account: account, region: region, resourceID: id, from: window.start, to: window.end)
        var resource: [(String, JSONValue)] = [("type", .string(type)), ("id", .string(id))]
        if let name { resource.append(("name", .string(name))) }
        var change: [(String, JSONValue)] = [("action", .string(action))]
        if !changed.isEmpty {
            let listed = changed.prefix(Self.maxChangedLeaves)
            change.append(("paths", .array(listed.map { .string($0.path) })))
            change.append(("changes", .array(listed.map { leaf in
                .object([("path", .string(leaf.path)), ("old", leaf.old.map(JSONValue.string) ?? .null), ("new", leaf.new.map(JSONValue.string) ?? .null)])
            })))
            change.append(("changed_count", .int(Int64(changed.count))))
        }
        change.append(("window", .object([("start", .string(window.start)), ("end", .string(window.end))])))
        change.append(("events", .array(explaining)))
        change.append(("event_count", .int(Int64(explaining.count))))
        let document: JSONValue = .object([
            ("@timestamp", .string(window.end)),
            ("cloud", .object([("provider", .string("aws")), ("account", .object([("id", .string(account))])), ("region", .string(region))])),
            ("resource", .object(resource)),
            ("change", .object(change)),
            ("cloudspool", .object([("collector", .string("inventory")), ("run_id", .string(runID)), ("previous_run_id", .string(previousRunID))])),
        ])
        append(index: "\(changesStem)-\(day)", id: documentID, document: document, to: &out)
    }

    private func append(index: String, id: String, document: JSONValue, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"index":{"_index":"#.utf8)
        JSONText.appendString(index, to: &out)
        out.append(contentsOf: #","_id":"#.utf8)
        JSONText.appendString(id, to: &out)
        out.append(contentsOf: "}}\n".utf8)
        document.write(to: &out)
        out.append(10)
    }
}
