import Foundation

extension Collector {
    /// The inventory's current state and change feed. It fetches nothing and
    /// has no transform of its own: the inventory transform writes its NDJSON
    /// (`ndjson/changes/`, index and delete actions) while it compares each
    /// collection with the last complete one (`InventoryChangeTracker`).
    public static let inventoryChanges = Collector(
        name: "changes",
        summary: "made by the inventory transform -> awscli-current (one document per live resource), awscli-changes-YYYY.MM",
        config: nil,
        isConfigured: { _ in false },
        fetch: nil,
        transform: { _ in nil },
        templates: { naming in
            [IndexTemplate(name: naming.prefix + "cloudspool-inventory", body: IndexTemplates.inventory(indexStem: naming.inventoryStem))]
        },
        awsActions: []
    )
}
