/// The names of indices and templates, with the configured prefix.
public struct IndexNaming: Sendable {
    public let prefix: String
    public let cloudtrailStem: String
    /// The IAM users index (one index, `awsusers-000001`).
    public let usersIndex: String
    /// The daily inventory indices (`awscli` -> `awscli-2026.11.28`).
    public let inventoryStem: String
    /// The current-state index of the inventory (`awscli-current`): one document per live resource.
    public var currentIndex: String { inventoryStem + "-current" }
    /// The monthly change feed of the inventory (`awscli-changes` -> `awscli-changes-2026.11`).
    public var changesStem: String { inventoryStem + "-changes" }
    /// The alias stem of billing periods (`awsbilling` -> `awsbilling-2026.11`).
    public let billingStem: String
    /// The stem of the per-revision physical indices; deliberately outside `awsbilling-*`.
    public let billingRevisionStem: String

    public init(config: CloudspoolConfig) {
        self.init(prefix: config.index?.indexPrefix ?? "", names: config.index?.names)
    }

    /// The names with `prefix` and the configured stems (the defaults where `names` is nil).
    public init(prefix: String, names: IndexNames? = nil) {
        self.prefix = prefix
        cloudtrailStem = prefix + (names?.cloudtrail ?? "awscli-trail")
        inventoryStem = prefix + (names?.inventory ?? "awscli")
        usersIndex = prefix + (names?.users ?? "awsusers-000001")
        let billing = names?.billing ?? "awsbilling"
        billingStem = prefix + billing
        billingRevisionStem = prefix + "cloudspool-" + billing
    }
}
