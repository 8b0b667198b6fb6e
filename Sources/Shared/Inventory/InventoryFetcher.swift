import Foundation
import Logging

/// The inventory source of fetch: every account (through its read-only
/// role) x every region, with a bounded number of units at work at once;
/// all answers of a run go into one raw run.
public final class InventoryFetcher: @unchecked Sendable {
    public static let collector = "inventory"

    /// `state/fetch-inventory.json`: the newest CloudTrail event time fetched per instance.
    public struct State: Codable, Sendable {
        public var lookupSince: [String: String] = [:]
        public init() {}
    }

    let settings: InventorySettings
    let access: AWSAccess
    let layout: SpoolLayout
    let environment: [String: String]
    let clock: RuntimeClock
    let logger: Logger
    let store: CheckpointStore<State>

    public init(settings: InventorySettings, access: AWSAccess, layout: SpoolLayout, environment: [String: String], clock: RuntimeClock = .system, logger: Logger) {
        self.settings = settings
        self.access = access
        self.layout = layout
        self.environment = environment
        self.clock = clock
        self.logger = logger
        self.store = CheckpointStore(layout: layout, name: "fetch-\(Self.collector)")
    }

    public func run(report: inout RunReport) throws {
        let state = try store.load() ?? State()
        let now = clock.now()
        let writer = try RawRunWriter(layout: layout, collector: Self.collector, runID: RunID(date: now), startedAt: now)
        let callStore = InventoryCallStore(writer: writer)
        let entered: [(InventoryAccount, any CredentialProvider)]
        do {
            entered = try enterAccounts(store: callStore)
        } catch {
            writer.discard()
            throw error
        }
        // Regions of each account (cheap calls), then the units.
        var units: [(InventoryAccount, String, any CredentialProvider)] = []
        for (account, credentials) in entered {
            do {
                for region in try regions(for: account, credentials: credentials) {
                    units.append((account, region, credentials))
                }
            } catch let error as AWSServiceError {
                callStore.recordError("account \(account.id): \(error)", retryLater: error.isRetryable)
            }
        }
        logger.info("collecting inventory", metadata: ["accounts": "\(entered.count)", "units": "\(units.count)", "concurrency": "\(settings.concurrency)"])
        let latest = LockedDictionary()
        let lookupSince = state.lookupSince
        let work = units
        do {
            try WorkerPool.run(count: work.count, workers: settings.concurrency) { [self] index in
                let (account, region, credentials) = work[index]
                let unit = InventoryUnitFetcher(account: account, region: region, credentials: credentials, access: access, store: callStore,
                                                lookupEvents: settings.lookupEvents, lookupSince: lookupSince, clock: clock, logger: logger)
                try unit.run()
                latest.merge(unit.latestEvents)
                logger.info("unit collected", metadata: ["account": "\(account.id)", "region": "\(region)", "progress": "\(index + 1)/\(work.count)"])
            }
        } catch {
            writer.discard()
            throw error
        }
        let summary = callStore.summary
        report.errors.append(contentsOf: summary.errors)
        if summary.incomplete { report.incomplete = true }
        report.add("calls", Int64(summary.calls))
        report.add("bytes", summary.bytes)
        report.add("accounts", Int64(entered.count))
        report.add("units", Int64(units.count))
        if writer.isEmpty {
            writer.discard()
            return
        }
        try writer.commit(finishedAt: clock.now())
        report.add("runs")
        var newState = State()
        newState.lookupSince = latest.value   // instances not seen this run are forgotten
        try store.save(newState)
    }

    /// Every account to collect with the credentials to use in it: the base
    /// credentials in their own account, the assumed role elsewhere. An
    /// account that cannot be entered is recorded in `store` and left out.
    public func enterAccounts(store: InventoryCallStore) throws -> [(InventoryAccount, any CredentialProvider)] {
        let baseAccount = try callerAccount()
        let accounts = try AccountDirectory(settings: settings, environment: environment)
            .resolve(organizations: { try listOrganizationAccounts(store: store, account: baseAccount ?? "organization") })
        guard !accounts.isEmpty else {
            throw CloudspoolError(.configuration, "no account to collect (check inventory.accounts_file, accounts, organizations, profiles)")
        }
        var result: [(InventoryAccount, any CredentialProvider)] = []
        for account in accounts {
            let credentials: any CredentialProvider = account.id == baseAccount ? access.credentials :
                access.chain.assumeRole(arn: "arn:aws:iam::\(account.id):role/\(settings.roleName)", externalId: settings.externalId, base: access.credentials)
            do {
                _ = try credentials.require(now: clock.now())
                result.append((account, credentials))
            } catch let error as CloudspoolError {
                store.recordError("account \(account.id)\(account.name.map { " (\($0))" } ?? ""): \(error.message)")
            } catch let error as AWSServiceError {
                store.recordError("account \(account.id): \(error)", retryLater: error.isRetryable)
            } catch let error as HTTPClientError {
                store.recordError("account \(account.id): \(error)", retryLater: true)
            }
        }
        return result
    }

    /// The account of the base credentials (so it is collected without assuming a role).
    func callerAccount() throws -> String? {
        let client = AWSClient(service: .sts, region: access.settings.region, endpoint: access.endpoints.endpoint(for: .sts, region: access.settings.region),
                               credentials: access.credentials, http: try HTTPClient(configuration: access.http), retry: access.retry, clock: clock, logger: logger)
        let response = try client.query(action: "GetCallerIdentity", version: "2011-06-15")
        return try XMLNode.parse(response.body, what: "sts GetCallerIdentity").path("GetCallerIdentityResult", "Account")?.text
    }

    /// Active accounts of the organization (from the management account).
    func listOrganizationAccounts(store: InventoryCallStore, account: String) throws -> [InventoryAccount] {
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
            try store.store(response.body, service: "organizations", operation: "ListAccounts", account: account, region: "global",
                            parameters: token.map { ["NextToken": $0] } ?? [:], status: response.status, requestedAt: requestedAt, json: true)
            let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            for account in json?["Accounts"] as? [[String: Any]] ?? [] where (account["Status"] as? String ?? "ACTIVE") == "ACTIVE" {
                if let id = account["Id"] as? String { accounts.append(InventoryAccount(id: id, name: account["Name"] as? String)) }
            }
            token = json?["NextToken"] as? String
        } while token != nil
        return accounts
    }

    /// The configured regions, or every region enabled in the account for `all`.
    func regions(for account: InventoryAccount, credentials: any CredentialProvider) throws -> [String] {
        guard settings.regions == ["all"] else { return settings.regions }
        let region = access.settings.region
        let client = AWSClient(service: .ec2, region: region, account: account.id, endpoint: access.endpoints.endpoint(for: .ec2, region: region),
                               credentials: credentials, http: try HTTPClient(configuration: access.http), retry: access.retry, clock: clock, logger: logger)
        let response = try client.query(action: "DescribeRegions", version: InventoryUnitFetcher.ec2Version)
        return (try XMLNode.parse(response.body, what: "ec2 DescribeRegions").child("regionInfo")?.children("item") ?? [])
            .compactMap { $0.string("regionName") }.sorted()
    }
}

/// A dictionary merged from worker threads.
final class LockedDictionary: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String: String] = [:]
    var value: [String: String] { lock.withLock { stored } }
    func merge(_ other: [String: String]) { lock.withLock { stored.merge(other) { _, new in new } } }
}
