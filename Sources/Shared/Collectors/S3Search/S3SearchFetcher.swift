import Foundation
import Logging

/// The S3 object search source of fetch: in each account, the configured
/// buckets it owns are listed to the end (`ListObjectsV2`, in the bucket's
/// own region), every page stored as it arrives, so a bucket of millions of
/// keys never sits in memory.
public final class S3SearchFetcher: @unchecked Sendable {
    public static let collector = "s3"

    let settings: S3SearchSettings
    let inventory: InventorySettings
    let access: AWSAccess
    let layout: SpoolLayout
    let environment: [String: String]
    let clock: RuntimeClock
    let logger: Logger

    public init(context: StageContext, settings: S3SearchSettings, inventory: InventorySettings) throws {
        self.settings = settings
        self.inventory = inventory
        self.access = try context.requireAWS()
        self.layout = context.layout
        self.environment = context.environment
        self.clock = context.clock
        self.logger = context.logger
    }

    func s3(bucket: String, region: String, account: String, credentials: any CredentialProvider, pathStyle: Bool = false) throws -> S3Client {
        S3Client(bucket: bucket, region: region, account: account, credentials: credentials, http: try HTTPClient(configuration: access.http),
                 retry: access.retry, endpoints: access.endpoints, addressing: pathStyle ? "path" : access.settings.s3Addressing, clock: clock, logger: logger)
    }

    public func run(report: inout RunReport) throws {
        let wanted = try settings.bucketNames()
        let now = clock.now()
        let writer = try RawRunWriter(layout: layout, collector: Self.collector, runID: RunID(date: now), startedAt: now)
        let store = InventoryCallStore(writer: writer)
        let found = LockedDictionary()
        do {
            var scope = inventory
            if !settings.accounts.isEmpty || settings.accountsFile != nil {
                scope = inventory.restricted(to: settings.accounts, accountsFile: settings.accountsFile)
            }
            try OrganizationAccess(settings: scope, access: access, environment: environment, clock: clock, logger: logger)
                .forEachAccount(store: store, what: "s3") { [self] account, credentials in
                    let owned = try collect(account: account.id, credentials: credentials, wanted: Set(wanted), store: store)
                    found.merge(Dictionary(uniqueKeysWithValues: owned.map { ($0, account.id) }))
                }
        } catch {
            writer.discard()
            throw error
        }
        for bucket in wanted where found.value[bucket] == nil {
            store.recordError("bucket \(bucket) (s3.buckets) was not found in any of the accounts looked at")
        }
        try store.finish(into: &report, clock: clock)
    }

    /// Lists the wanted buckets the account owns; returns their names.
    func collect(account: String, credentials: any CredentialProvider, wanted: Set<String>, store: InventoryCallStore) throws -> [String] {
        let home = access.settings.region
        let requestedAt = clock.now()
        let (names, body) = try s3(bucket: "", region: home, account: account, credentials: credentials, pathStyle: true).listBuckets()
        try store.store(body, service: "s3", operation: "ListBuckets", account: account, region: home, parameters: [:], status: 200,
                        requestedAt: requestedAt, json: false)
        let owned = names.filter { wanted.contains($0) }
        for bucket in owned {
            do {
                let located = try s3(bucket: bucket, region: home, account: account, credentials: credentials).bucketRegion()
                let region = located.region
                try store.store(located.body, service: "s3", operation: "GetBucketLocation", account: account, region: region,
                                parameters: ["Bucket": bucket], status: 200, requestedAt: clock.now(), json: false)
                let client = try s3(bucket: bucket, region: region, account: account, credentials: credentials)
                var token: String?
                var objects = 0
                repeat {
                    let requestedAt = clock.now()
                    let result = try client.listObjectsRaw(prefix: "", continuationToken: token)
                    var parameters = ["Bucket": bucket]
                    if let token { parameters["ContinuationToken"] = token }
                    try store.store(result.body, service: "s3", operation: "ListObjectsV2", account: account, region: region,
                                    parameters: parameters, status: result.status, requestedAt: requestedAt, json: false)
                    objects += result.page.objects.count
                    token = result.page.nextContinuationToken
                    if objects % 100_000 < 1000 && objects >= 100_000 {
                        logger.info("listing bucket", metadata: ["bucket": "\(bucket)", "objects": "\(objects)"])
                    }
                } while token != nil
                logger.info("bucket listed", metadata: ["account": "\(account)", "bucket": "\(bucket)", "objects": "\(objects)"])
            } catch let error as AWSServiceError {
                // One bucket refusing (AccessDenied) does not stop the others.
                store.recordError("account \(account) bucket \(bucket): \(error)", retryLater: error.isRetryable)
            }
        }
        return owned
    }
}
