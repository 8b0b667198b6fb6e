import Foundation

extension Collector {
    /// The inventory of every account and region: EC2, RDS, CloudWatch, Backup, gateways, recent events.
    public static let inventory = Collector(
        name: InventoryFetcher.collector,
        summary: "EC2, RDS, CloudWatch, Backup, gateways per account x region",
        config: CollectorConfigSection(key: "inventory") { reader, _ in try InventorySettings(reader: &reader) },
        isConfigured: { $0.inventory != nil },
        fetch: { context, report in
            try InventoryFetcher(context: context, settings: try context.config.requireInventory()).run(report: &report)
        },
        transform: { context in
            InventoryTransformer(context: context, eventsPerInstance: context.config.inventory?.lookupEvents ?? 100, monitoring: context.config.monitoring)
        },
        templates: { naming in
            [IndexTemplate(name: naming.prefix + "cloudspool-inventory", body: IndexTemplates.inventory(indexStem: naming.inventoryStem))]
        },
        awsActions: OrganizationAccess.awsActions + ["ec2:DescribeRegions"] + InventoryUnitFetcher.awsActions,
        check: { CollectorChecks.accounts($0) }
    )
}

extension CloudspoolConfig {
    /// The `inventory` section, if the config has one.
    public var inventory: InventorySettings? { section("inventory") }

    /// The `inventory` section, or an error saying it is needed.
    public func requireInventory() throws -> InventorySettings {
        try requireSection("inventory", "collect the inventory (accounts and regions)")
    }
}
