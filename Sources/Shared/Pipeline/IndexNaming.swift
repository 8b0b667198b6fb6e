/// The names of indices and templates, with the configured prefix.
public struct IndexNaming: Sendable {
    public let prefix: String
    public let cloudtrailStem: String
    /// The IAM users index (one index, `awsusers-000001`).
    public let usersIndex: String
    /// The daily inventory indices (`awscli` -> `awscli-2026.11.28`).
    public let inventoryStem: String
    /// The alias stem of billing periods (`awsbilling` -> `awsbilling-2026.11`).
    public let billingStem: String
    /// The stem of the per-revision physical indices; deliberately outside `awsbilling-*`.
    public let billingRevisionStem: String

    public init(config: CloudspoolConfig) {
        prefix = config.index?.indexPrefix ?? ""
        cloudtrailStem = prefix + (config.index?.names.cloudtrail ?? "awscli-trail")
        inventoryStem = prefix + (config.index?.names.inventory ?? "awscli")
        usersIndex = prefix + (config.index?.names.users ?? "awsusers-000001")
        let billing = config.index?.names.billing ?? "awsbilling"
        billingStem = prefix + billing
        billingRevisionStem = prefix + "cloudspool-" + billing
    }

    /// The inventory template: name and body.
    public var inventoryTemplate: (name: String, body: Data) {
        (prefix + "cloudspool-inventory", IndexTemplates.inventory(indexStem: inventoryStem))
    }

    /// The IAM users template: name and body.
    public var usersTemplate: (name: String, body: Data) {
        (prefix + "cloudspool-users", IndexTemplates.users(index: usersIndex))
    }

    /// The S3 object search template: name and body.
    public var s3Template: (name: String, body: Data) {
        (prefix + "cloudspool-s3", IndexTemplates.s3(indexPattern: "\(inventoryStem)-s3-*"))
    }

    /// The billing template: name and body.
    public var billingTemplate: (name: String, body: Data) {
        (prefix + "cloudspool-billing", IndexTemplates.billing(revisionStem: billingRevisionStem))
    }

    /// The CloudTrail template: name and body.
    public var cloudtrailTemplate: (name: String, body: Data) {
        (prefix + "cloudspool-cloudtrail", IndexTemplates.cloudTrail(indexStem: cloudtrailStem))
    }
}

import Foundation
