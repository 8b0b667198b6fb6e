import Foundation

/// A folder of per-account/region states under `state/`
/// (`<account>-<region>.json`, each a versioned `CheckpointStore` file).
///
/// A run writes each unit's next state aside into `.pending/` as soon as the
/// unit is done, and puts them in place (`promote`) only once the NDJSON
/// that carries them is committed: a run of thousands of units never holds
/// their states in memory, and a run interrupted before its commit leaves the
/// states as they were, so it is transformed again against the same ones.
struct UnitStateFolder<State: Codable & Sendable>: Sendable {
    let folder: URL
    let version: Int

    init(_ folder: URL, version: Int) {
        self.folder = folder
        self.version = version
    }

    private static func name(account: String, region: String) -> String { "\(account)-\(region).json" }

    private func store(_ url: URL) -> CheckpointStore<State> { CheckpointStore(url: url, version: version) }

    /// The unit's state, nil when none was saved yet.
    func load(account: String, region: String) throws -> State? {
        try store(folder.appendingPathComponent(Self.name(account: account, region: region))).load()
    }

    /// Whether a state was saved for the unit.
    func exists(account: String, region: String) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(Self.name(account: account, region: region)).path)
    }

    /// Saves the unit's state in place at once.
    func save(_ state: State, account: String, region: String) throws {
        try store(folder.appendingPathComponent(Self.name(account: account, region: region))).save(state)
    }

    /// Where the states written aside wait for `promote`.
    var pendingFolder: URL { folder.appendingPathComponent(".pending", isDirectory: true) }

    /// Writes the unit's next state aside; nobody reads it until `promote`.
    func savePending(_ state: State, account: String, region: String) throws {
        try store(pendingFolder.appendingPathComponent(Self.name(account: account, region: region))).save(state)
    }

    /// Puts the states `savePending` wrote for `units` in place (one rename each), then removes the
    /// pending folder if that emptied it (`rmdir`: what is left stays for `removeTemporaries`).
    func promote(_ units: [(account: String, region: String)]) throws {
        for unit in units {
            let name = Self.name(account: unit.account, region: unit.region)
            try SpoolFiles.rename(pendingFolder.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        _ = rmdir(pendingFolder.path)
    }

    /// Removes what an interrupted run left: states written aside (that run never took effect and is
    /// transformed again) and half-written files. The caller holds the stage's lock.
    func removeTemporaries() {
        try? FileManager.default.removeItem(at: pendingFolder)
        for name in SpoolFiles.temporaries(folder) {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }
}
