import Foundation
import Logging
import Synchronization

/// Reaches every account of the organization: which accounts (see
/// `AccountDirectory`), and the credentials to use in each (the base
/// credentials in their own account, the read-only role elsewhere).
/// Shared by the collectors that fan out over accounts.
public struct OrganizationAccess: Sendable {
    let settings: InventorySettings
    let access: AWSAccess
    let environment: [String: String]
    let clock: RuntimeClock
    let logger: Logger

    /// The IAM actions of the fan-out: the organization's accounts and the role in each
    /// (`sts:GetCallerIdentity` needs no permission).
    public static let awsActions = ["organizations:ListAccounts", "sts:AssumeRole"]

    public init(settings: InventorySettings, access: AWSAccess, environment: [String: String], clock: RuntimeClock, logger: Logger) {
        self.settings = settings
        self.access = access
        self.environment = environment
        self.clock = clock
        self.logger = logger
    }

    /// Every account to collect with the credentials to use in it: the base
    /// credentials in their own account, the assumed role elsewhere. An
    /// account that cannot be entered is recorded in `store` and left out.
    public func enterAccounts(store: InventoryCallStore) throws -> [(InventoryAccount, any CredentialProvider)] {
        let baseAccount = try callerAccount()
        let accounts = try AccountDirectory(settings: settings, environment: environment)
            .resolve(organizations: { try listOrganizationAccounts(store: store, account: baseAccount ?? "organization") })
        guard !accounts.isEmpty else {
            let shard = settings.shard.map { "; inventory.shard \($0) leaves none of them to this host" } ?? ""
            throw CloudspoolError(.configuration, "no account to collect (check inventory.accounts_file, accounts, organizations, profiles\(shard))")
        }
        // The roles are assumed on `inventory.concurrency` threads: one after the other, a 1,000-account
        // organization would wait minutes for AssumeRole answers before the first unit starts.
        let entered = Mutex<[Int: any CredentialProvider]>([:])
        try WorkerPool.run(count: accounts.count, workers: settings.concurrency) { [self] index in
            let account = accounts[index]
            try StopRequest.checkpoint("before entering account \(account.id)")
            let credentials: any CredentialProvider = account.id == baseAccount ? access.credentials :
                access.chain.assumeRole(arn: "arn:aws:iam::\(account.id):role/\(settings.roleName)", externalId: settings.externalId, base: access.credentials)
            do {
                _ = try credentials.require(now: clock.now())
                entered.withLock { $0[index] = credentials }
            } catch let error as CloudspoolError where error.code != .stopped {
                store.recordError("account \(account.id)\(account.name.map { " (\($0))" } ?? ""): \(error.message)")
            } catch let error as AWSServiceError {
                store.recordError("account \(account.id): \(error)", retryLater: error.isRetryable)
            } catch let error as HTTPClientError {
                store.recordError("account \(account.id): \(error)", retryLater: true)
            }
        }
        let credentials = entered.withLock { $0 }
        return accounts.indices.compactMap { index in credentials[index].map { (accounts[index], $0) } }
    }

    /// For `--check`: the base credentials' account, and for every account to visit whether its role can be
    /// assumed (nil) or why not. Nothing is stored.
    public func preflight() throws -> (caller: String?, accounts: [(InventoryAccount, String?)]) {
        let caller = try callerAccount()
        let accounts = try AccountDirectory(settings: settings, environment: environment)
            .resolve(organizations: { try listOrganizationAccounts(store: nil, account: caller ?? "organization") })
        let results: [(InventoryAccount, String?)] = accounts.map { account in
            guard account.id != caller else { return (account, nil) }
            let credentials = access.chain.assumeRole(arn: "arn:aws:iam::\(account.id):role/\(settings.roleName)", externalId: settings.externalId,
                                                      base: access.credentials)
            do {
                _ = try credentials.require(now: clock.now())
                return (account, nil)
            } catch {
                return (account, StageRunner.describe(error))
            }
        }
        return (caller, results)
    }

    /// The account of the base credentials (so it is collected without assuming a role).
    func callerAccount() throws -> String? {
        let client = AWSClient(service: .sts, region: access.settings.region, endpoint: access.endpoints.endpoint(for: .sts, region: access.settings.region),
                               credentials: access.credentials, http: try HTTPClient(configuration: access.http), retry: access.retry, clock: clock, logger: logger)
        let response = try client.query(action: "GetCallerIdentity", version: "2011-06-15")
        return try XMLNode.parse(response.body, what: "sts GetCallerIdentity").path("GetCallerIdentityResult", "Account")?.text
    }

    /// Active accounts of the organization (from the management account).
    func listOrganizationAccounts(store: InventoryCallStore?, account: String) throws -> [InventoryAccount] {
        let client = AWSClient(service: .organizations, region: "us-east-1", endpoint: access.endpoints.endpoint(for: .organizations, region: "us-east-1"),
                               credentials: access.credentials, http: try HTTPClient(configuration: access.http), retry: access.retry, clock: clock, logger: logger)
        var accounts: [InventoryAccount] = []
        var token: String?
        repeat {
            var body: [String: Any] = [:]
            if let token { body["NextToken"] = token }
            let requestedAt = clock.now()
            let response = try client.json(target: "AWSOrganizationsV20161128.ListAccounts", operation: "ListAccounts", body: body)
            // Stored like every answer: transform reads the account names from it.
            try store?.store(response.body, service: "organizations", operation: "ListAccounts", account: account, region: "global",
                            parameters: token.map { ["NextToken": $0] } ?? [:], status: response.status, requestedAt: requestedAt, json: true)
            let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            for account in json?["Accounts"] as? [[String: Any]] ?? [] where (account["Status"] as? String ?? "ACTIVE") == "ACTIVE" {
                if let id = account["Id"] as? String { accounts.append(InventoryAccount(id: id, name: account["Name"] as? String)) }
            }
            token = json?["NextToken"] as? String
        } while token != nil
        return accounts
    }


    /// Enters every account and runs `body` for each on at most
    /// `inventory.concurrency` threads. A call AWS refuses, or a transfer that
    /// fails, is recorded in `store` for that account (`what` names the
    /// collector) and the other accounts go on.
    public func forEachAccount(store: InventoryCallStore, what: String,
                               _ body: @escaping @Sendable (InventoryAccount, any CredentialProvider) throws -> Void) throws {
        let accounts = try enterAccounts(store: store)
        try WorkerPool.run(count: accounts.count, workers: settings.concurrency) { index in
            let (account, credentials) = accounts[index]
            try StopRequest.checkpoint("before account \(account.id)")
            do {
                try body(account, credentials)
            } catch let error as AWSServiceError {
                store.recordError("account \(account.id): \(error)", retryLater: error.isRetryable)
            } catch let error as HTTPClientError {
                store.recordError("account \(account.id): \(what): \(error)", retryLater: true)
            }
        }
    }
}
