import Foundation
import Logging
import Synchronization

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

    public init(context: StageContext, settings: InventorySettings) throws {
        self.settings = settings
        self.access = try context.requireAWS()
        self.layout = context.layout
        self.environment = context.environment
        self.clock = context.clock
        self.logger = context.logger
        self.store = CheckpointStore(layout: layout, name: "fetch-\(Self.collector)")
    }

    public func run(report: inout RunReport) throws {
        let state = try store.load() ?? State()
        let now = clock.now()
        let writer = try RawRunWriter(layout: layout, collector: Self.collector, runID: RunID(date: now), startedAt: now)
        let callStore = InventoryCallStore(writer: writer)
        let entered: [(InventoryAccount, any CredentialProvider)]
        do {
            entered = try OrganizationAccess(settings: settings, access: access, environment: environment, clock: clock, logger: logger)
                .enterAccounts(store: callStore)
        } catch {
            writer.discard()
            throw error
        }
        // Regions of each account (one cheap call each with `regions: [all]`, on the workers), then the units.
        let regionsOf = Mutex<[Int: [String]]>([:])
        do {
            try WorkerPool.run(count: entered.count, workers: settings.concurrency) { [self] index in
                let (account, credentials) = entered[index]
                do {
                    let list = try regions(for: account, credentials: credentials)
                    regionsOf.withLock { $0[index] = list }
                } catch let error as AWSServiceError {
                    callStore.recordError("account \(account.id): \(error)", retryLater: error.isRetryable)
                } catch let error as HTTPClientError {
                    callStore.recordError("account \(account.id): ec2 DescribeRegions: \(error)", retryLater: true)
                }
            }
        } catch {
            writer.discard()
            throw error
        }
        let found = regionsOf.withLock { $0 }
        var units: [(InventoryAccount, String, any CredentialProvider)] = []
        for (index, (account, credentials)) in entered.enumerated() {
            for region in found[index] ?? [] {
                units.append((account, region, credentials))
            }
        }
        logger.info("collecting inventory", metadata: ["accounts": "\(entered.count)", "units": "\(units.count)", "concurrency": "\(settings.concurrency)"])
        let latest = LockedDictionary()
        let lookupSince = state.lookupSince
        let work = units
        do {
            try WorkerPool.run(count: work.count, workers: settings.concurrency) { [self] index in
                let (account, region, credentials) = work[index]
                try StopRequest.checkpoint("before account \(account.id) region \(region)")
                let unit = InventoryUnitFetcher(account: account, region: region, credentials: credentials, access: access, store: callStore,
                                                lookupEvents: settings.lookupEvents, lookupSince: lookupSince, clock: clock, logger: logger)
                try unit.run()
                callStore.finishUnit(account: account.id, region: region)
                latest.merge(unit.latestEvents)
                logger.info("unit collected", metadata: ["account": "\(account.id)", "region": "\(region)", "progress": "\(index + 1)/\(work.count)"])
            }
        } catch {
            writer.discard()
            throw error
        }
        report.add("accounts", Int64(entered.count))
        report.add("units", Int64(units.count))
        try callStore.finish(into: &report, clock: clock)
        var newState = State()
        newState.lookupSince = latest.value   // instances not seen this run are forgotten
        try store.save(newState)
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
