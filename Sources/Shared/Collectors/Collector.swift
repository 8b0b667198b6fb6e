import Foundation

/// Everything the stages know about one collector: its name, its config
/// section, how it fetches, how one raw run becomes NDJSON, its index
/// templates, how it loads, what retention applies to it and which AWS
/// actions it calls.
///
/// One value per collector, declared in the collector's own folder
/// (`Collectors/<Name>/<Name>Collector.swift`) and listed once in
/// `Collectors.all`. The stages walk that list and never name a collector.
public struct Collector: Sendable {
    /// The collector's name: its `raw/<name>/` and `ndjson/<name>/` folders,
    /// the value of `cloudspool-fetch --collector`, the key of its checkpoints.
    public let name: String
    /// One line for `--help` and `--list-collectors`: what it collects and where it goes.
    public let summary: String
    /// Its section of the config file, if it has one.
    public let config: CollectorConfigSection?
    /// Whether the config sets this collector up (so plain `fetch` runs it).
    public let isConfigured: @Sendable (CloudspoolConfig) -> Bool
    /// Fetches into raw runs; nil for a collector that has nothing to fetch.
    public let fetch: (@Sendable (StageContext, inout RunReport) throws -> Void)?
    /// The transform of its raw runs, or nil when the config gives it nothing
    /// to do (a transform that can run is always run, so leftovers of a
    /// section removed from the config are still finished).
    public let transform: @Sendable (StageContext) throws -> (any CollectorTransform)?
    /// Whether its transform also replays loose files that are not in a raw
    /// run folder (a CloudTrail `.json.gz` picked by hand).
    public let replaysLooseFiles: Bool
    /// The index templates its documents need, installed before its first bulk request.
    public let templates: @Sendable (IndexNaming) -> [IndexTemplate]
    /// How its NDJSON reaches the index.
    public let load: CollectorLoad
    /// What retention removes of its work once the next stage finished it.
    public let retention: CollectorRetention
    /// The IAM actions its fetch calls (`s3:GetObject`, `ec2:DescribeInstances`),
    /// the source of the least-privilege policy.
    public let awsActions: [String]
    /// What `cloudspool-fetch --check` tries for it, without fetching data.
    public let check: (@Sendable (StageContext) -> [PreflightCheck])?

    public init(name: String, summary: String, config: CollectorConfigSection?,
                isConfigured: @escaping @Sendable (CloudspoolConfig) -> Bool,
                fetch: (@Sendable (StageContext, inout RunReport) throws -> Void)?,
                transform: @escaping @Sendable (StageContext) throws -> (any CollectorTransform)?,
                replaysLooseFiles: Bool = false,
                templates: @escaping @Sendable (IndexNaming) -> [IndexTemplate],
                load: CollectorLoad = .bulk,
                retention: CollectorRetention = .finishedWork,
                awsActions: [String],
                check: (@Sendable (StageContext) -> [PreflightCheck])? = nil) {
        self.name = name
        self.summary = summary
        self.config = config
        self.isConfigured = isConfigured
        self.fetch = fetch
        self.transform = transform
        self.replaysLooseFiles = replaysLooseFiles
        self.templates = templates
        self.load = load
        self.retention = retention
        self.awsActions = awsActions
        self.check = check
    }
}

/// How a collector's NDJSON files reach the index.
public enum CollectorLoad: Sendable {
    /// Every pending file through `_bulk`, checkpointed by acknowledged byte.
    case bulk
    /// A loader of the collector's own (billing's per-revision index and alias
    /// swap), given the shared bulk loader and index client.
    case custom(@Sendable (StageContext, IndexLoadContext, inout RunReport) throws -> Void)
    /// Nothing to load: the collector's data reaches the index through another collector.
    case none
}

/// What a custom loader gets besides the stage context.
public struct IndexLoadContext: Sendable {
    public let bulk: BulkLoader
    public let client: IndexClient
}

/// What retention removes of a collector's work, once finished by the next stage.
public struct CollectorRetention: Sendable {
    /// Raw runs transform has finished, older than `retention.raw_days`.
    public let raw: Bool
    /// NDJSON files the index acknowledged, older than `retention.ndjson_days`.
    public let ndjson: Bool

    /// Both raw runs and NDJSON files, once finished.
    public static let finishedWork = CollectorRetention(raw: true, ndjson: true)
}

/// An index template: its name and its JSON body.
public struct IndexTemplate: Sendable {
    public let name: String
    public let body: Data

    public init(name: String, body: Data) {
        self.name = name
        self.body = body
    }
}

/// A collector's transform as the stages drive it: pending work, and a replay by hand.
public protocol CollectorTransform {
    /// Transforms every pending raw run, oldest first, checkpointing each.
    func run(report: inout RunReport) throws
    /// Transforms a raw run folder (or, for collectors that replay loose files,
    /// one file) again, whatever the checkpoint says.
    func replay(path: URL, report: inout RunReport) throws
}
