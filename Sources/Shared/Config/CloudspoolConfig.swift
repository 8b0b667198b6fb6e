import Foundation
import Yams

/// The whole configuration of cloudspool: one YAML file shared by all stages.
///
/// Every key is documented in `cloudspool.example.yaml`. Secrets are never
/// part of it: the index password and API key are read from files or
/// environment variables that the config names.
public struct CloudspoolConfig: Sendable {
    /// The spool root, where the stages hand off work.
    public let spool: String
    public let aws: AWSSettings
    public let cloudtrail: CloudTrailSettings?
    public let billing: BillingSettings?
    public let inventory: InventorySettings?
    public let iam: IAMSettings?
    public let s3: S3SearchSettings?
    public let transform: TransformSettings
    public let index: IndexSettings?
    public let retention: RetentionSettings
    /// The file this configuration was read from, for messages.
    public let file: String

    /// The default location of the config file.
    public static let defaultPath = "/etc/cloudspool/cloudspool.yaml"

    /// The config path to use: the explicit option, then `CLOUDSPOOL_CONFIG`, then the default.
    public static func resolvePath(option: String?, environment: [String: String]) -> String {
        if let option, !option.isEmpty { return option }
        if let env = environment["CLOUDSPOOL_CONFIG"], !env.isEmpty { return env }
        return defaultPath
    }

    /// Reads and checks the file at `path`.
    public static func load(path: String, today: Date = Date()) throws -> CloudspoolConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CloudspoolError(.configuration, "cannot read config file \(path): \(error.localizedDescription); pass --config PATH or set CLOUDSPOOL_CONFIG")
        }
        return try parse(yaml: text, file: path, today: today)
    }

    /// Parses a configuration from YAML text; `file` names it in messages.
    public static func parse(yaml: String, file: String, today: Date = Date()) throws -> CloudspoolConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw CloudspoolError(.configuration, "\(file): not valid YAML: \(error)")
        } catch {
            throw CloudspoolError(.configuration, "\(file): not valid YAML: \(error)")
        }
        var top = try ConfigNodeReader(node: root, file: file, path: "")
        guard let spool = try top.string("spool"), !spool.isEmpty else {
            throw top.error("spool", "is required: the folder where the stages hand off work (e.g. /var/spool/cloudspool)")
        }
        var awsReader = try top.child("aws")
        let aws = try AWSSettings(reader: &awsReader)
        try awsReader.finish()

        var cloudtrail: CloudTrailSettings?
        if top.isPresent("cloudtrail") {
            var reader = try top.child("cloudtrail")
            cloudtrail = try CloudTrailSettings(reader: &reader, today: today)
            try reader.finish()
        } else {
            _ = try top.child("cloudtrail")
        }

        var billing: BillingSettings?
        if top.isPresent("billing") {
            var reader = try top.child("billing")
            billing = try BillingSettings(reader: &reader)
            try reader.finish()
        } else {
            _ = try top.child("billing")
        }

        var inventory: InventorySettings?
        if top.isPresent("inventory") {
            var reader = try top.child("inventory")
            inventory = try InventorySettings(reader: &reader)
            try reader.finish()
        } else {
            _ = try top.child("inventory")
        }

        var iam: IAMSettings?
        if top.isPresent("iam") {
            var reader = try top.child("iam")
            iam = try IAMSettings(reader: &reader)
            try reader.finish()
            if inventory == nil {
                throw CloudspoolError(.configuration, "\(file): the 'iam' section needs the 'inventory' section, which says which accounts to visit")
            }
        } else {
            _ = try top.child("iam")
        }

        var s3: S3SearchSettings?
        if top.isPresent("s3") {
            var reader = try top.child("s3")
            s3 = try S3SearchSettings(reader: &reader)
            try reader.finish()
            if inventory == nil {
                throw CloudspoolError(.configuration, "\(file): the 's3' section needs the 'inventory' section (role name, accounts)")
            }
        } else {
            _ = try top.child("s3")
        }

        var transformReader = try top.child("transform")
        let transform = try TransformSettings(reader: &transformReader)
        try transformReader.finish()

        var index: IndexSettings?
        if top.isPresent("index") {
            var reader = try top.child("index")
            index = try IndexSettings(reader: &reader)
            try reader.finish()
        } else {
            _ = try top.child("index")
        }

        var retentionReader = try top.child("retention")
        let retention = try RetentionSettings(reader: &retentionReader)
        try retentionReader.finish()

        try top.finish()
        return CloudspoolConfig(spool: spool, aws: aws, cloudtrail: cloudtrail, billing: billing, inventory: inventory, iam: iam, s3: s3, transform: transform, index: index, retention: retention, file: file)
    }

    /// The CloudTrail settings, or an error saying the section is needed.
    public func requireCloudTrail() throws -> CloudTrailSettings {
        guard let cloudtrail else {
            throw CloudspoolError(.configuration, "\(file): the 'cloudtrail' section is required to fetch CloudTrail logs (at least cloudtrail.bucket)")
        }
        return cloudtrail
    }

    /// The billing settings, or an error saying the section is needed.
    public func requireBilling() throws -> BillingSettings {
        guard let billing else {
            throw CloudspoolError(.configuration, "\(file): the 'billing' section is required to fetch Cost & Usage Reports (at least billing.bucket and billing.report_name)")
        }
        return billing
    }

    /// The inventory settings, or an error saying the section is needed.
    public func requireInventory() throws -> InventorySettings {
        guard let inventory else {
            throw CloudspoolError(.configuration, "\(file): the 'inventory' section is required to collect the inventory (accounts and regions)")
        }
        return inventory
    }

    /// The collectors this config sets up, in the order stages run them.
    public var configuredCollectors: [String] {
        var result: [String] = []
        if cloudtrail != nil { result.append("cloudtrail") }
        if billing != nil { result.append("billing") }
        if inventory != nil { result.append("inventory") }
        if iam != nil { result.append("iam") }
        if s3 != nil { result.append("s3") }
        return result
    }

    /// The index settings, or an error saying the section is needed.
    public func requireIndex() throws -> IndexSettings {
        guard let index else {
            throw CloudspoolError(.configuration, "\(file): the 'index' section is required to load documents (at least index.url)")
        }
        return index
    }
}
