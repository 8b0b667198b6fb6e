import Foundation
import Logging

/// Collects one account in one region: every inventory call, every page,
/// stored raw. A call that is denied or not available in the region is
/// recorded and the others go on.
final class InventoryUnitFetcher {
    /// The IAM action of every call below, for the least-privilege policy.
    static let awsActions = [
        "ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeImages", "ec2:DescribeSnapshots", "ec2:DescribeVolumes",
        "ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces", "ec2:DescribeInternetGateways", "ec2:DescribeNatGateways",
        "ec2:DescribeTransitGateways", "rds:DescribeDBInstances", "rds:DescribeDBSnapshots", "cloudwatch:DescribeAlarms",
        "cloudwatch:ListMetrics", "backup:ListBackupJobs", "cloudtrail:LookupEvents",
    ]

    let account: InventoryAccount
    let region: String
    let credentials: any CredentialProvider
    let access: AWSAccess
    let store: InventoryCallStore
    let lookupEvents: Int
    let lookupSince: [String: String]
    let clock: RuntimeClock
    let logger: Logger
    private var clients: [String: AWSClient] = [:]
    /// The newest CloudTrail event time seen per instance (for the next run's start).
    private(set) var latestEvents: [String: String] = [:]

    static let ec2Version = "2016-11-15"
    static let rdsVersion = "2014-10-31"
    static let cloudwatchVersion = "2010-08-01"

    init(account: InventoryAccount, region: String, credentials: any CredentialProvider, access: AWSAccess, store: InventoryCallStore,
         lookupEvents: Int, lookupSince: [String: String], clock: RuntimeClock, logger: Logger) {
        self.account = account
        self.region = region
        self.credentials = credentials
        self.access = access
        self.store = store
        self.lookupEvents = lookupEvents
        self.lookupSince = lookupSince
        self.clock = clock
        self.logger = logger
    }

    func client(_ service: AWSService) throws -> AWSClient {
        if let client = clients[service.signingName] { return client }
        let client = AWSClient(service: service, region: service.isGlobal ? "us-east-1" : region, account: account.id,
                               endpoint: access.endpoints.endpoint(for: service, region: region), credentials: credentials,
                               http: try HTTPClient(configuration: access.http), retry: access.retry, clock: clock, logger: logger)
        clients[service.signingName] = client
        return client
    }

    /// Runs `body`, turning a service's refusal into a recorded error.
    func attempt(_ what: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as AWSServiceError {
            store.recordError("account \(account.id) region \(region): \(error)" + (error.isRetryable ? "; collected again by the next run" : ""),
                              retryLater: error.isRetryable,
                              account: account.id, region: region, call: Self.callName(what))
        } catch let error as HTTPClientError {
            store.recordError("account \(account.id) region \(region): \(what): \(error); collected again by the next run", retryLater: true,
                              account: account.id, region: region, call: Self.callName(what))
        }
    }

    /// `ec2 DescribeImages (images in use)` -> `ec2 DescribeImages`.
    static func callName(_ what: String) -> String {
        what.split(separator: " ").prefix(2).joined(separator: " ")
    }

    /// Every page of a query-protocol call; `tokenElement` names the next-page token in the answer.
    @discardableResult
    func queryPages(_ service: AWSService, version: String, action: String, parameters: [(String, String)], tokenParameter: String,
                    tokenElement: String) throws -> [XMLNode] {
        var token: String?
        var pages: [XMLNode] = []
        repeat {
            var params = parameters
            if let token { params.append((tokenParameter, token)) }
            let requestedAt = clock.now()
            let response = try client(service).query(action: action, version: version, parameters: params)
            try store.store(response.body, service: service.signingName, operation: action, account: account.id, region: region,
                            parameters: Dictionary(params, uniquingKeysWith: { a, _ in a }), status: response.status, requestedAt: requestedAt, json: false)
            let root = try XMLNode.parse(response.body, what: "\(service.signingName) \(action)")
            pages.append(root)
            token = root.firstDescendant(named: tokenElement, maxDepth: 2)?.text
            if token?.isEmpty == true { token = nil }
        } while token != nil
        return pages
    }

    func run() throws {
        var instanceIDs: [String] = []
        var lookups: InventoryEventLookup.Running?
        defer {
            // Never leave the lookups running past the unit (an error below ends the unit early).
            if let lookups { _ = try? lookups.wait() }
        }
        var instanceTypes = Set<String>()
        var imageIDs = Set<String>()
        try attempt("ec2 DescribeInstances") {
            for page in try queryPages(.ec2, version: Self.ec2Version, action: "DescribeInstances", parameters: [("MaxResults", "1000")],
                                       tokenParameter: "NextToken", tokenElement: "nextToken") {
                for reservation in page.child("reservationSet")?.children("item") ?? [] {
                    for instance in reservation.child("instancesSet")?.children("item") ?? [] {
                        if let id = instance.string("instanceId") { instanceIDs.append(id) }
                        if let type = instance.string("instanceType") { instanceTypes.insert(type) }
                        if let image = instance.string("imageId") { imageIDs.insert(image) }
                    }
                }
            }
        }
        if lookupEvents > 0 && !instanceIDs.isEmpty {
            // The lookups are paced by AWS's 2 requests per second: they run beside the calls below.
            lookups = InventoryEventLookup(account: account, region: region, credentials: credentials, access: access, store: store,
                                           lookupEvents: lookupEvents, lookupSince: lookupSince, clock: clock, logger: logger)
                .start(instances: instanceIDs.sorted())
        }
        try attempt("rds DescribeDBInstances") {
            for page in try queryPages(.rds, version: Self.rdsVersion, action: "DescribeDBInstances", parameters: [("MaxRecords", "100")],
                                       tokenParameter: "Marker", tokenElement: "Marker") {
                for db in page.child("DescribeDBInstancesResult")?.child("DBInstances")?.children("DBInstance") ?? [] {
                    // db.m5.large runs on the equivalent of m5.large.
                    if let cls = db.string("DBInstanceClass"), cls.hasPrefix("db.") { instanceTypes.insert(String(cls.dropFirst(3))) }
                }
            }
        }
        try attempt("rds DescribeDBSnapshots") {
            try queryPages(.rds, version: Self.rdsVersion, action: "DescribeDBSnapshots", parameters: [("MaxRecords", "100")],
                           tokenParameter: "Marker", tokenElement: "Marker")
        }
        if !instanceTypes.isEmpty {
            try attempt("ec2 DescribeInstanceTypes") {
                // Types that do not exist as EC2 types (some RDS classes) are refused as a whole: ask one by one then.
                let list = instanceTypes.sorted()
                do {
                    try queryPages(.ec2, version: Self.ec2Version, action: "DescribeInstanceTypes",
                                   parameters: list.enumerated().map { ("InstanceType.\($0.offset + 1)", $0.element) },
                                   tokenParameter: "NextToken", tokenElement: "nextToken")
                } catch let error as AWSServiceError where error.status == 400 && list.count > 1 {
                    for type in list {
                        do {
                            try queryPages(.ec2, version: Self.ec2Version, action: "DescribeInstanceTypes", parameters: [("InstanceType.1", type)],
                                           tokenParameter: "NextToken", tokenElement: "nextToken")
                        } catch let error as AWSServiceError where error.status == 400 {
                            logger.debug("no EC2 instance type", metadata: ["type": "\(type)", "error": "\(error.code)"])
                        }
                    }
                }
            }
        }
        try attempt("ec2 DescribeImages") {
            try queryPages(.ec2, version: Self.ec2Version, action: "DescribeImages", parameters: [("Owner.1", "self")],
                           tokenParameter: "NextToken", tokenElement: "nextToken")
        }
        if !imageIDs.isEmpty {
            try attempt("ec2 DescribeImages (images in use)") {
                // The image-id filter (unlike ImageId.N) tolerates images deregistered since the instances were launched:
                // they are simply not in the answer. At most 200 values per filter.
                let list = imageIDs.sorted()
                for start in stride(from: 0, to: list.count, by: 200) {
                    let chunk = list[start..<min(start + 200, list.count)]
                    try queryPages(.ec2, version: Self.ec2Version, action: "DescribeImages",
                                   parameters: [("Filter.1.Name", "image-id")] + chunk.enumerated().map { ("Filter.1.Value.\($0.offset + 1)", $0.element) },
                                   tokenParameter: "NextToken", tokenElement: "nextToken")
                }
            }
        }
        try attempt("ec2 DescribeSnapshots") {
            try queryPages(.ec2, version: Self.ec2Version, action: "DescribeSnapshots", parameters: [("Owner.1", "self"), ("MaxResults", "1000")],
                           tokenParameter: "NextToken", tokenElement: "nextToken")
        }
        for action in ["DescribeVolumes", "DescribeSecurityGroups", "DescribeNetworkInterfaces", "DescribeInternetGateways",
                       "DescribeNatGateways", "DescribeTransitGateways"] {
            try attempt("ec2 \(action)") {
                try queryPages(.ec2, version: Self.ec2Version, action: action, parameters: [("MaxResults", action == "DescribeVolumes" ? "500" : "1000")],
                               tokenParameter: "NextToken", tokenElement: "nextToken")
            }
        }
        try attempt("cloudwatch DescribeAlarms") {
            try queryPages(.cloudwatch, version: Self.cloudwatchVersion, action: "DescribeAlarms", parameters: [("MaxRecords", "100")],
                           tokenParameter: "NextToken", tokenElement: "NextToken")
        }
        try attempt("cloudwatch ListMetrics") {
            try queryPages(.cloudwatch, version: Self.cloudwatchVersion, action: "ListMetrics", parameters: [("Namespace", "AWS/EC2")],
                           tokenParameter: "NextToken", tokenElement: "NextToken")
        }
        try attempt("backup ListBackupJobs") { try backupJobs() }
        if let running = lookups {
            lookups = nil
            latestEvents = try running.wait()
        }
    }

    func backupJobs() throws {
        var token: String?
        repeat {
            var query: [(String, String)] = [("maxResults", "1000")]
            if let token { query.append(("nextToken", token)) }
            let requestedAt = clock.now()
            let response = try client(.backup).send(operation: "ListBackupJobs", path: "/backup-jobs/", query: query)
            try store.store(response.body, service: "backup", operation: "ListBackupJobs", account: account.id, region: region,
                            parameters: Dictionary(query, uniquingKeysWith: { a, _ in a }), status: response.status, requestedAt: requestedAt, json: true)
            let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            token = json?["NextToken"] as? String
        } while token != nil
    }
}

extension XMLNode {
    /// The first element called `name` at most `maxDepth` levels below this one (breadth first).
    public func firstDescendant(named name: String, maxDepth: Int) -> XMLNode? {
        var level = [self]
        for _ in 0..<maxDepth {
            var next: [XMLNode] = []
            for node in level {
                if let hit = node.child(name) { return hit }
                next.append(contentsOf: node.children)
            }
            level = next
        }
        return nil
    }
}
