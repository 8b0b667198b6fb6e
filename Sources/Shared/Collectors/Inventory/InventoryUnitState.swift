/// What the change feed remembers of one account and region: for each kind of
/// resource, its last complete collection (the resources and their leaves).
/// Kept in `state/inventory-current/<account>-<region>.json`, replaced
/// atomically; its size follows the number of resources, not time.
struct InventoryUnitState: Codable, Sendable {
    /// The raw run the state was last advanced by.
    var runId: String
    /// The kinds of resources, by `resource.type`.
    var kinds: [String: KindState] = [:]
    /// What the run `runId` sent beyond its own documents (deletes from the
    /// current-state index, change documents): sent again, unchanged, when
    /// that run is transformed again after an interruption.
    var lastExtra: String = ""

    /// The last complete collection of one kind of resource.
    struct KindState: Codable, Sendable {
        var runId: String
        var collectedAt: String
        /// By resource id.
        var resources: [String: ResourceState]
    }

    /// One resource as last collected.
    struct ResourceState: Codable, Sendable {
        /// Its document id in the current-state index.
        var documentID: String
        /// Its Name tag, if any, for the change documents of its deletion.
        var name: String?
        /// Its leaves (empty for kinds whose changes are not tracked).
        var leaves: [String: String]
    }
}
