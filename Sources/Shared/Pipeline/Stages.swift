import Foundation

/// The work of each stage, called by the thin executables through `StageRunner`.
public enum Stages {
    public static let fetchSummary = ["runs", "files", "bytes", "listed", "skipped"]
    public static let transformSummary = ["files", "records", "documents", "rejected", "quarantined", "bytes", "ndjson_files"]
    public static let loadSummary = ["files", "documents", "indexed", "deadlettered", "quarantined", "retries", "bytes"]

    /// fetch: the CloudTrail bucket into raw runs.
    public static func fetch(_ context: StageContext, _ report: inout RunReport) throws {
        let settings = try context.config.requireCloudTrail()
        let aws = try AWSAccess(settings: context.config.aws, environment: context.environment, clock: context.clock, logger: context.logger)
        let s3 = try aws.s3(bucket: settings.bucket, region: settings.bucketRegion)
        let fetcher = CloudTrailFetcher(settings: settings, s3: s3, layout: context.layout, clock: context.clock, logger: context.logger)
        try fetcher.run(report: &report)
    }

    /// transform: pending raw runs (or one replayed path) into NDJSON.
    public static func transform(_ context: StageContext, replay: String?, _ report: inout RunReport) throws {
        let naming = IndexNaming(config: context.config)
        let transformer = CloudTrailTransformer(layout: context.layout, indexStem: naming.cloudtrailStem,
                                                maxFileBytes: context.config.transform.maxFileBytes, clock: context.clock, logger: context.logger)
        if let replay {
            try transformer.replay(path: URL(fileURLWithPath: replay), report: &report)
            return
        }
        try transformer.run(report: &report)
        let retention = Retention(layout: context.layout, settings: context.config.retention, logger: context.logger)
        report.add("raw_runs_removed", Int64(try retention.pruneRaw(collector: CloudTrailTransformer.collector, now: context.clock.now())))
    }

    /// load: pending NDJSON (or one replayed path) into the index.
    public static func load(_ context: StageContext, replay: String?, _ report: inout RunReport) throws {
        let settings = try context.config.requireIndex()
        var awsCredentials: (any CredentialProvider)?
        if settings.auth == .awsSigV4 {
            awsCredentials = try AWSAccess(settings: context.config.aws, environment: context.environment, clock: context.clock, logger: context.logger).credentials
        }
        let client = try IndexClient(settings: settings, environment: context.environment, awsCredentials: awsCredentials, clock: context.clock, logger: context.logger)
        let loader = BulkLoader(client: client, layout: context.layout, settings: settings, clock: context.clock, logger: context.logger)
        let naming = IndexNaming(config: context.config)
        if let replay {
            try loader.replay(path: URL(fileURLWithPath: replay), collector: CloudTrailTransformer.collector, template: naming.cloudtrailTemplate, report: &report)
            return
        }
        try loader.run(collector: CloudTrailTransformer.collector, template: naming.cloudtrailTemplate, report: &report)
        let retention = Retention(layout: context.layout, settings: context.config.retention, logger: context.logger)
        report.add("ndjson_removed", Int64(try retention.pruneNDJSON(collector: CloudTrailTransformer.collector, now: context.clock.now())))
    }
}
