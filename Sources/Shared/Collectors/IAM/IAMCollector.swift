import Foundation

extension Collector {
    /// IAM users of every account: the credential report typed, with activity and inactivity.
    public static let iam = Collector(
        name: IAMFetcher.collector,
        summary: "credential report, users, groups per account -> awsusers",
        config: CollectorConfigSection(key: "iam", requires: [.init(section: "inventory", why: "which says which accounts to visit")]) { reader, _ in
            try IAMSettings(reader: &reader)
        },
        isConfigured: { $0.iam != nil },
        fetch: { context, report in
            guard let iam = context.config.iam else {
                throw CloudspoolError(.configuration, "\(context.config.file): the 'iam' section is required to collect IAM users")
            }
            try IAMFetcher(context: context, settings: iam, inventory: try context.config.requireInventory()).run(report: &report)
        },
        transform: { context in
            context.config.iam.map { IAMTransformer(context: context, settings: $0) }
        },
        templates: { naming in
            [IndexTemplate(name: naming.prefix + "cloudspool-users", body: IndexTemplates.users(index: naming.usersIndex))]
        },
        awsActions: OrganizationAccess.awsActions + ["iam:GenerateCredentialReport", "iam:GetCredentialReport", "iam:ListUsers", "iam:ListGroupsForUser"]
    )
}

extension CloudspoolConfig {
    /// The `iam` section, if the config has one.
    public var iam: IAMSettings? { section("iam") }
}
