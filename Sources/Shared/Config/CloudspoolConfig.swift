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

/// How cloudspool reaches AWS.
public struct AWSSettings: Sendable {
    /// Region for calls not tied to an account/region of their own.
    public let region: String
    /// Named profile of the shared config; nil uses the standard chain.
    public let profile: String?
    /// Extra CA bundle (PEM) for TLS to AWS.
    public let caBundle: String?
    /// Whether TLS certificates are verified (default true).
    public let tlsVerify: Bool
    /// Seconds before a stalled request is abandoned.
    public let timeoutSeconds: Int
    /// Retries of throttled, 5xx and network-failed calls.
    public let maxRetries: Int
    /// S3 addressing: auto, path or virtual.
    public let s3Addressing: String

    init(reader: inout ConfigNodeReader) throws {
        region = try reader.string("region", default: "us-east-1")
        profile = try reader.string("profile")
        caBundle = try reader.string("ca_bundle")
        tlsVerify = try reader.bool("tls_verify", default: true)
        timeoutSeconds = try reader.int("timeout_seconds", default: 60, range: 1...3600)
        maxRetries = try reader.int("max_retries", default: 5, range: 0...50)
        s3Addressing = try reader.choice("s3_addressing", default: "auto", allowed: ["auto", "path", "virtual"])
    }
}

/// Where the CloudTrail logs are and how they are listed.
public struct CloudTrailSettings: Sendable {
    public let bucket: String
    /// The trail's key prefix (the part before `AWSLogs/`), normalised to end with `/` unless empty.
    public let prefix: String
    public let accounts: [String]
    public let regions: [String]
    /// The first day a fresh checkpoint lists from.
    public let startDate: Date
    public let overlapMinutes: Int
    public let batchObjects: Int
    /// Region of the bucket; defaults to `aws.region`.
    public let bucketRegion: String?

    init(reader: inout ConfigNodeReader, today: Date) throws {
        guard let bucket = try reader.string("bucket"), !bucket.isEmpty else {
            throw reader.error("bucket", "is required: the S3 bucket the trail writes to")
        }
        self.bucket = bucket
        var prefix = try reader.string("prefix", default: "")
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        self.prefix = prefix
        accounts = try reader.stringList("accounts")
        for account in accounts where !AccountID.isValid(account) {
            throw reader.error("accounts", "must list 12-digit AWS account ids, not '\(account)'")
        }
        regions = try reader.stringList("regions")
        if let text = try reader.string("start_date") {
            guard let date = UTCDate.parseDay(text) else {
                throw reader.error("start_date", "must be a date like 2026-11-01, not '\(text)'")
            }
            startDate = date
        } else {
            startDate = today.addingTimeInterval(-7 * 86_400)
        }
        overlapMinutes = try reader.int("overlap_minutes", default: 60, range: 0...10_080)
        batchObjects = try reader.int("batch_objects", default: 500, range: 1...1_000_000)
        bucketRegion = try reader.string("bucket_region")
    }
}

/// How transform writes its output.
public struct TransformSettings: Sendable {
    /// NDJSON files are split at about this many bytes.
    public let maxFileBytes: Int

    init(reader: inout ConfigNodeReader) throws {
        maxFileBytes = try reader.int("max_file_bytes", default: 64 << 20, range: 4096...(1 << 34))
    }
}

/// The Elasticsearch/OpenSearch cluster that load writes to.
public struct IndexSettings: Sendable {
    /// How load authenticates to the index.
    public enum Auth: String, Sendable {
        case none, basic, apiKey = "api_key", awsSigV4 = "aws_sigv4"
    }

    public let url: String
    public let auth: Auth
    public let username: String?
    public let passwordFile: String?
    public let passwordEnv: String?
    public let apiKeyFile: String?
    public let apiKeyEnv: String?
    public let awsRegion: String?
    public let caBundle: String?
    public let tlsVerify: Bool
    public let timeoutSeconds: Int
    public let maxRetries: Int
    public let bulkMaxBytes: Int
    public let bulkMaxDocs: Int
    /// `_bulk` requests in flight at once (each on its own connection).
    public let bulkConcurrency: Int
    public let indexPrefix: String
    /// Whether load also indexes the stages' run reports (`cloudspool-runs-YYYY.MM`).
    public let indexRunReports: Bool
    /// Index name stems per collector (e.g. cloudtrail -> awscli-trail).
    public let names: IndexNames

    init(reader: inout ConfigNodeReader) throws {
        guard let url = try reader.string("url"), url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw reader.error("url", "is required and must start with http:// or https:// (e.g. https://127.0.0.1:9200)")
        }
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        let authName = try reader.choice("auth", default: "none", allowed: ["none", "basic", "api_key", "aws_sigv4"])
        auth = Auth(rawValue: authName) ?? .none
        username = try reader.string("username")
        passwordFile = try reader.string("password_file")
        passwordEnv = try reader.string("password_env")
        apiKeyFile = try reader.string("api_key_file")
        apiKeyEnv = try reader.string("api_key_env")
        awsRegion = try reader.string("aws_region")
        caBundle = try reader.string("ca_bundle")
        tlsVerify = try reader.bool("tls_verify", default: true)
        timeoutSeconds = try reader.int("timeout_seconds", default: 60, range: 1...3600)
        maxRetries = try reader.int("max_retries", default: 8, range: 0...50)
        bulkMaxBytes = try reader.int("bulk_max_bytes", default: 5 << 20, range: 1024...(1 << 30))
        bulkMaxDocs = try reader.int("bulk_max_docs", default: 5000, range: 1...1_000_000)
        bulkConcurrency = try reader.int("bulk_concurrency", default: 2, range: 1...16)
        indexPrefix = try reader.string("index_prefix", default: "")
        indexRunReports = try reader.bool("run_reports", default: true)
        var namesReader = try reader.child("names")
        names = IndexNames(cloudtrail: try namesReader.string("cloudtrail", default: "awscli-trail"),
                           billing: try namesReader.string("billing", default: "awsbilling"),
                           inventory: try namesReader.string("inventory", default: "awscli"),
                           users: try namesReader.string("users", default: "awsusers-000001"))
        try namesReader.finish()
        switch auth {
        case .basic:
            if username == nil { throw reader.error("username", "is required with auth: basic") }
            if passwordFile == nil && passwordEnv == nil {
                throw reader.error("password_file", "or password_env is required with auth: basic (never put the password itself in the config)")
            }
        case .apiKey:
            if apiKeyFile == nil && apiKeyEnv == nil {
                throw reader.error("api_key_file", "or api_key_env is required with auth: api_key")
            }
        case .none, .awsSigV4:
            break
        }
    }
}

/// Index name stems; load adds `index_prefix` and transform adds the date.
public struct IndexNames: Sendable {
    public let cloudtrail: String
    public let billing: String
    public let inventory: String
    /// The users index, a single index (not dated): `awsusers-000001`.
    public let users: String
}

/// Which buckets (and in which accounts) the S3 object search lists.
public struct S3SearchSettings: Sendable {
    /// Buckets listed in the config.
    public let buckets: [String]
    /// A file of bucket names, one per line (the `bucket_s3.txt` format).
    public let bucketsFile: String?
    /// Accounts to look in (default: the inventory's accounts).
    public let accounts: [String]
    /// A file of account ids (the `account_s3.txt` format).
    public let accountsFile: String?

    init(reader: inout ConfigNodeReader) throws {
        buckets = try reader.stringList("buckets")
        bucketsFile = try reader.string("buckets_file")
        accounts = try reader.stringList("accounts")
        for account in accounts where !AccountID.isValid(account) {
            throw reader.error("accounts", "must list 12-digit AWS account ids, not '\(account)'")
        }
        accountsFile = try reader.string("accounts_file")
        if buckets.isEmpty && bucketsFile == nil {
            throw reader.error("buckets", "or buckets_file is required: the buckets whose objects are indexed")
        }
    }

    /// Bucket names from the config and the file (one per line, `#` comments).
    public func bucketNames() throws -> [String] {
        var names = buckets
        if let path = bucketsFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CloudspoolError(.configuration, "cannot read the buckets file \(path) (s3.buckets_file)")
            }
            for line in text.split(separator: "\n") {
                let name = (line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
                if !name.isEmpty { names.append(name) }
            }
        }
        return Array(Set(names)).sorted()
    }
}

/// The IAM users collector.
public struct IAMSettings: Sendable {
    /// A user with no activity for more than this many days is inactive.
    public let inactiveDays: Int
    /// Seconds to wait for AWS to finish a credential report.
    public let reportTimeoutSeconds: Int

    init(reader: inout ConfigNodeReader) throws {
        inactiveDays = try reader.int("inactive_days", default: 90, range: 1...3650)
        reportTimeoutSeconds = try reader.int("report_timeout_seconds", default: 120, range: 5...3600)
    }
}

/// Which accounts and regions the inventory covers, and how it reaches them.
public struct InventorySettings: Sendable {
    /// A file of account ids, one per line, `#` comments (the format of `account.txt`).
    public let accountsFile: String?
    /// Account ids listed in the config.
    public let accounts: [String]
    /// Whether to list the organization's active accounts (`organizations:ListAccounts`).
    public let organizations: Bool
    /// Whether the accounts of the shared config's role profiles are included.
    public let profiles: Bool
    /// The role assumed in each member account.
    public let roleName: String
    /// The external id the role's trust policy asks for, if any.
    public let externalId: String?
    /// Regions, or `all` for every region enabled in the account.
    public let regions: [String]
    /// Account x region units worked on at once.
    public let concurrency: Int
    /// CloudTrail events looked up per instance (0 turns it off).
    public let lookupEvents: Int

    /// A copy that visits only `accounts` (and no other source of accounts).
    public func restricted(to accounts: [String], accountsFile: String?) -> InventorySettings {
        InventorySettings(accountsFile: accountsFile, accounts: accounts, organizations: false, profiles: false, roleName: roleName,
                          externalId: externalId, regions: regions, concurrency: concurrency, lookupEvents: lookupEvents)
    }

    init(accountsFile: String?, accounts: [String], organizations: Bool, profiles: Bool, roleName: String, externalId: String?,
         regions: [String], concurrency: Int, lookupEvents: Int) {
        self.accountsFile = accountsFile
        self.accounts = accounts
        self.organizations = organizations
        self.profiles = profiles
        self.roleName = roleName
        self.externalId = externalId
        self.regions = regions
        self.concurrency = concurrency
        self.lookupEvents = lookupEvents
    }

    init(reader: inout ConfigNodeReader) throws {
        accountsFile = try reader.string("accounts_file")
        accounts = try reader.stringList("accounts")
        for account in accounts where !AccountID.isValid(account) {
            throw reader.error("accounts", "must list 12-digit AWS account ids, not '\(account)'")
        }
        organizations = try reader.bool("organizations", default: false)
        profiles = try reader.bool("profiles", default: false)
        roleName = try reader.string("role_name", default: "EnergyLogReadOnly")
        externalId = try reader.string("external_id")
        regions = try reader.stringList("regions")
        if regions.isEmpty {
            throw reader.error("regions", "is required: a list of regions, or [all] for every region enabled in each account")
        }
        concurrency = try reader.int("concurrency", default: 4, range: 1...64)
        lookupEvents = try reader.int("lookup_events", default: 100, range: 0...1000)
        if accountsFile == nil && accounts.isEmpty && !organizations && !profiles {
            throw reader.error("accounts", "or accounts_file, organizations: true or profiles: true is needed: which accounts to collect")
        }
    }
}

/// Where the Cost & Usage Reports are.
public struct BillingSettings: Sendable {
    public let bucket: String
    /// The report's S3 path prefix, normalised to end with `/` unless empty.
    public let prefix: String
    /// The legacy CUR report name, or the CUR 2.0 (Data Exports) export name.
    public let reportName: String
    /// Billing periods looked at, the current one included.
    public let months: Int
    public let bucketRegion: String?

    init(reader: inout ConfigNodeReader) throws {
        guard let bucket = try reader.string("bucket"), !bucket.isEmpty else {
            throw reader.error("bucket", "is required: the S3 bucket the Cost & Usage Report is delivered to")
        }
        self.bucket = bucket
        guard let name = try reader.string("report_name"), !name.isEmpty, !name.contains("/") else {
            throw reader.error("report_name", "is required: the report (or Data Exports export) name, without slashes")
        }
        reportName = name
        var prefix = try reader.string("prefix", default: "")
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        self.prefix = prefix
        months = try reader.int("months", default: 2, range: 1...36)
        bucketRegion = try reader.string("bucket_region")
    }
}

/// How long finished work is kept in the spool.
public struct RetentionSettings: Sendable {
    public let rawDays: Int
    public let ndjsonDays: Int

    init(reader: inout ConfigNodeReader) throws {
        rawDays = try reader.int("raw_days", default: 30, range: 0...36_500)
        ndjsonDays = try reader.int("ndjson_days", default: 7, range: 0...36_500)
    }
}
