import Foundation
import Logging

/// The IAM source of fetch: for every account, a credential report
/// (`GenerateCredentialReport`, polled politely until AWS has it; AWS reuses
/// a report younger than 4 hours on its own), the report itself, the users
/// and each user's groups, all stored raw in one run.
public final class IAMFetcher: @unchecked Sendable {
    public static let collector = "iam"
    static let version = "2010-05-08"

    let settings: IAMSettings
    let inventory: InventorySettings
    let access: AWSAccess
    let layout: SpoolLayout
    let environment: [String: String]
    let clock: RuntimeClock
    let logger: Logger

    public init(context: StageContext, settings: IAMSettings, inventory: InventorySettings) throws {
        self.settings = settings
        self.inventory = inventory
        self.access = try context.requireAWS()
        self.layout = context.layout
        self.environment = context.environment
        self.clock = context.clock
        self.logger = context.logger
    }

    public func run(report: inout RunReport) throws {
        let now = clock.now()
        let writer = try RawRunWriter(layout: layout, collector: Self.collector, runID: RunID(date: now), startedAt: now)
        let store = InventoryCallStore(writer: writer)
        do {
            try OrganizationAccess(settings: inventory, access: access, environment: environment, clock: clock, logger: logger)
                .forEachAccount(store: store, what: "iam") { [self] account, credentials in
                    try collect(account: account.id, credentials: credentials, store: store)
                }
        } catch {
            writer.discard()
            throw error
        }
        try store.finish(into: &report, clock: clock)
    }

    func collect(account: String, credentials: any CredentialProvider, store: InventoryCallStore) throws {
        let client = AWSClient(service: .iam, region: "us-east-1", account: account, endpoint: access.endpoints.endpoint(for: .iam, region: "us-east-1"),
                               credentials: credentials, http: try HTTPClient(configuration: access.http), retry: access.retry, clock: clock, logger: logger)
        func call(_ action: String, _ parameters: [(String, String)] = []) throws -> XMLNode {
            let requestedAt = clock.now()
            let response = try client.query(action: action, version: Self.version, parameters: parameters)
            try store.store(response.body, service: "iam", operation: action, account: account, region: "global",
                            parameters: Dictionary(parameters, uniquingKeysWith: { a, _ in a }), status: response.status, requestedAt: requestedAt, json: false)
            return try XMLNode.parse(response.body, what: "iam \(action)")
        }
        // The report: ask for it, then wait (2 s, 4 s, ... at most 15 s apart) until AWS has it.
        let deadline = clock.now().addingTimeInterval(TimeInterval(settings.reportTimeoutSeconds))
        var wait = 2.0
        while true {
            let state = try call("GenerateCredentialReport").path("GenerateCredentialReportResult", "State")?.text ?? ""
            if state == "COMPLETE" { break }
            guard clock.now() < deadline else {
                throw CloudspoolError(.aws, "account \(account): the IAM credential report was not ready after \(settings.reportTimeoutSeconds) s (state \(state)); the next run asks again")
            }
            clock.sleep(wait)
            wait = min(wait * 2, 15)
        }
        _ = try call("GetCredentialReport")
        var marker: String?
        var users: [String] = []
        repeat {
            var parameters: [(String, String)] = [("MaxItems", "1000")]
            if let marker { parameters.append(("Marker", marker)) }
            let page = try call("ListUsers", parameters).child("ListUsersResult")
            users += page?.child("Users")?.children.compactMap { $0.string("UserName") } ?? []
            marker = page?.string("IsTruncated") == "true" ? page?.string("Marker") : nil
        } while marker != nil
        for user in users {
            var marker: String?
            repeat {
                var parameters: [(String, String)] = [("UserName", user), ("MaxItems", "1000")]
                if let marker { parameters.append(("Marker", marker)) }
                let page = try call("ListGroupsForUser", parameters).child("ListGroupsForUserResult")
                marker = page?.string("IsTruncated") == "true" ? page?.string("Marker") : nil
            } while marker != nil
        }
        logger.info("IAM collected", metadata: ["account": "\(account)", "users": "\(users.count)"])
    }
}
