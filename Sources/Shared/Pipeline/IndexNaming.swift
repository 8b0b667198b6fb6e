/// The names of indices and templates, with the configured prefix.
public struct IndexNaming: Sendable {
    public let prefix: String
    public let cloudtrailStem: String

    public init(config: CloudspoolConfig) {
        prefix = config.index?.indexPrefix ?? ""
        cloudtrailStem = prefix + (config.index?.names.cloudtrail ?? "awscli-trail")
    }

    /// The CloudTrail template: name and body.
    public var cloudtrailTemplate: (name: String, body: Data) {
        (prefix + "cloudspool-cloudtrail", IndexTemplates.cloudTrail(indexStem: cloudtrailStem))
    }
}

import Foundation
