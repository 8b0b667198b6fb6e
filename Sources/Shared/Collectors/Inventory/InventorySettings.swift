import Foundation

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
    /// `shard: K/N`: only the accounts of shard K of N (nil: every account).
    public let shard: AccountShard?

    /// A copy that visits only `accounts` (and no other source of accounts).
    public func restricted(to accounts: [String], accountsFile: String?) -> InventorySettings {
        InventorySettings(accountsFile: accountsFile, accounts: accounts, organizations: false, profiles: false, roleName: roleName,
                          externalId: externalId, regions: regions, concurrency: concurrency, lookupEvents: lookupEvents, shard: shard)
    }

    init(accountsFile: String?, accounts: [String], organizations: Bool, profiles: Bool, roleName: String, externalId: String?,
         regions: [String], concurrency: Int, lookupEvents: Int, shard: AccountShard? = nil) {
        self.accountsFile = accountsFile
        self.accounts = accounts
        self.organizations = organizations
        self.profiles = profiles
        self.roleName = roleName
        self.externalId = externalId
        self.regions = regions
        self.concurrency = concurrency
        self.lookupEvents = lookupEvents
        self.shard = shard
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
        concurrency = try reader.int("concurrency", default: 4, range: 1...256)
        lookupEvents = try reader.int("lookup_events", default: 100, range: 0...1000)
        if let text = try reader.string("shard") {
            guard let shard = AccountShard(text) else {
                throw reader.error("shard", "must be K/N with 1 <= K <= N (this host collects shard K of N), not '\(text)'")
            }
            self.shard = shard
        } else {
            shard = nil
        }
        if accountsFile == nil && accounts.isEmpty && !organizations && !profiles {
            throw reader.error("accounts", "or accounts_file, organizations: true or profiles: true is needed: which accounts to collect")
        }
    }
}
