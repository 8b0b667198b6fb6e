import Foundation

/// The last CloudTrail events known of each instance (up to
/// `inventory.lookup_events`, newest first), which its documents carry from
/// run to run: one file per account and region,
/// `state/inventory-events/<account>-<region>.json`, so a worker reads and
/// writes only its own unit's and the transform's memory does not grow with
/// the organization.
///
/// Earlier versions kept every instance in one `state/inventory-events.json`
/// (the same shape); it is read once when there is no unit file yet, split by
/// unit, and removed by the first regular run that has written the unit files.
struct InventoryEventState: Sendable {
    /// The events of one unit's instances, by `<account>/<region>/<instance id>`, as JSON text.
    struct Unit: Codable, Sendable {
        var instances: [String: [String]] = [:]
    }

    let units: UnitStateFolder<Unit>
    let legacy: CheckpointStore<Unit>

    init(layout: SpoolLayout) {
        units = UnitStateFolder(layout.state.appendingPathComponent("inventory-events", isDirectory: true), version: 1)
        legacy = CheckpointStore(layout: layout, name: "inventory-events")
    }

    /// The single file of earlier versions split by unit (`<account>/<region>`), nil when there is none.
    func legacyByUnit() throws -> [String: Unit]? {
        guard let all = try legacy.load() else { return nil }
        var byUnit: [String: Unit] = [:]
        for (key, list) in all.instances {
            let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            byUnit["\(parts[0])/\(parts[1])", default: Unit()].instances[key] = list
        }
        return byUnit
    }

    /// A unit's events, parsed: from its file, else from the earlier versions' file.
    func load(account: String, region: String, legacy: [String: Unit]?) throws -> [String: [JSONValue]] {
        let unit = try units.load(account: account, region: region) ?? legacy?["\(account)/\(region)"] ?? Unit()
        var events: [String: [JSONValue]] = [:]
        for (key, list) in unit.instances {
            events[key] = list.compactMap { try? JSONValueParser.parse(Array($0.utf8)) }
        }
        return events
    }

    /// Writes aside the events of the instances this run saw in the unit (the others are forgotten);
    /// returns false when there was nothing to write (no instances now, and no file before).
    func savePending(_ events: [String: [JSONValue]], instances: [String], account: String, region: String) throws -> Bool {
        var unit = Unit()
        for key in instances { unit.instances[key] = (events[key] ?? []).map(\.jsonText) }
        if unit.instances.isEmpty && !units.exists(account: account, region: region) { return false }
        try units.savePending(unit, account: account, region: region)
        return true
    }

    /// Once a regular run's NDJSON is committed: its units' events in place, the earlier versions' file gone.
    func promote(_ written: [(account: String, region: String)]) throws {
        try units.promote(written)
        try SpoolFiles.remove(legacy.url)
    }
}
