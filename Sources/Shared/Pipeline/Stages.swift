import Foundation

/// The work of each stage, called by the thin executables through `StageRunner`.
public enum Stages {
    public static let fetchSummary = ["runs", "files", "calls", "bytes", "listed", "skipped"]
    public static let transformSummary = ["files", "records", "documents", "rejected", "quarantined", "bytes", "ndjson_files"]
    public static let loadSummary = ["files", "documents", "indexed", "deadlettered", "quarantined", "retries", "bytes"]

    /// The collectors fetch knows.
    public static let collectors = ["cloudtrail", "billing", "inventory", "iam", "s3"]

    /// fetch: each chosen collector (default: every configured one) into raw runs.
    public static func fetch(_ context: StageContext, collectors chosen: [String], _ report: inout RunReport) throws {
        let collectors = chosen.isEmpty ? context.config.configuredCollectors : chosen
        guard !collectors.isEmpty else {
            throw CloudspoolError(.configuration, "\(context.config.file): nothing to fetch: configure a 'cloudtrail' or 'billing' section")
        }
        let aws = try AWSAccess(settings: context.config.aws, environment: context.environment, clock: context.clock, logger: context.logger)
        for collector in collectors {
            switch collector {
            case CloudTrailFetcher.collector:
                let settings = try context.config.requireCloudTrail()
                let s3 = try aws.s3(bucket: settings.bucket, region: settings.bucketRegion)
                try CloudTrailFetcher(settings: settings, s3: s3, layout: context.layout, clock: context.clock, logger: context.logger).run(report: &report)
            case BillingFetcher.collector:
                let settings = try context.config.requireBilling()
                let s3 = try aws.s3(bucket: settings.bucket, region: settings.bucketRegion)
                try BillingFetcher(settings: settings, s3: s3, layout: context.layout, clock: context.clock, logger: context.logger).run(report: &report)
            case InventoryFetcher.collector:
                let settings = try context.config.requireInventory()
                try InventoryFetcher(settings: settings, access: aws, layout: context.layout, environment: context.environment,
                                     clock: context.clock, logger: context.logger).run(report: &report)
            case IAMFetcher.collector:
                guard let iam = context.config.iam else {
                    throw CloudspoolError(.configuration, "\(context.config.file): the 'iam' section is required to collect IAM users")
                }
                try IAMFetcher(settings: iam, inventory: try context.config.requireInventory(), access: aws, layout: context.layout,
                               environment: context.environment, clock: context.clock, logger: context.logger).run(report: &report)
            case S3SearchFetcher.collector:
                guard let s3 = context.config.s3 else {
                    throw CloudspoolError(.configuration, "\(context.config.file): the 's3' section is required to list buckets for the object search")
                }
                try S3SearchFetcher(settings: s3, inventory: try context.config.requireInventory(), access: aws, layout: context.layout,
                                    environment: context.environment, clock: context.clock, logger: context.logger).run(report: &report)
            default:
                throw CloudspoolError(.configuration, "unknown collector '\(collector)' (known: \(Self.collectors.joined(separator: ", ")))")
            }
        }
    }

    /// transform: pending raw runs (or one replayed path) into NDJSON.
    public static func transform(_ context: StageContext, replay: String?, _ report: inout RunReport) throws {
        let naming = IndexNaming(config: context.config)
        let transformer = CloudTrailTransformer(layout: context.layout, indexStem: naming.cloudtrailStem,
                                                maxFileBytes: context.config.transform.maxFileBytes, clock: context.clock, logger: context.logger)
        let billing = BillingTransformer(layout: context.layout, naming: naming, maxFileBytes: context.config.transform.maxFileBytes,
                                         clock: context.clock, logger: context.logger)
        let inventory = InventoryTransformer(layout: context.layout, naming: naming, maxFileBytes: context.config.transform.maxFileBytes,
                                             eventsPerInstance: context.config.inventory?.lookupEvents ?? 100, clock: context.clock, logger: context.logger)
        if let replay {
            let url = URL(fileURLWithPath: replay)
            let manifest = url.appendingPathComponent(RawRunManifest.fileName)
            let collector = FileManager.default.fileExists(atPath: manifest.path) ? (try? RawRunManifest.read(runFolder: url))?.collector : nil
            if collector == BillingTransformer.collector {
                try billing.replay(runFolder: url, report: &report)
            } else if collector == InventoryTransformer.collector {
                try inventory.replay(runFolder: url, report: &report)
            } else if collector == S3SearchTransformer.collector {
                try S3SearchTransformer(layout: context.layout, naming: naming, maxFileBytes: context.config.transform.maxFileBytes,
                                        clock: context.clock, logger: context.logger).replay(runFolder: url, report: &report)
            } else if collector == IAMTransformer.collector, let settings = context.config.iam {
                try IAMTransformer(layout: context.layout, naming: naming, settings: settings, maxFileBytes: context.config.transform.maxFileBytes,
                                   clock: context.clock, logger: context.logger).replay(runFolder: url, report: &report)
            } else {
                try transformer.replay(path: url, report: &report)
            }
            return
        }
        try transformer.run(report: &report)
        try billing.run(report: &report)
        try inventory.run(report: &report)
        if let settings = context.config.iam {
            try IAMTransformer(layout: context.layout, naming: naming, settings: settings, maxFileBytes: context.config.transform.maxFileBytes,
                               clock: context.clock, logger: context.logger).run(report: &report)
        }
        try S3SearchTransformer(layout: context.layout, naming: naming, maxFileBytes: context.config.transform.maxFileBytes,
                                clock: context.clock, logger: context.logger).run(report: &report)
        let retention = Retention(layout: context.layout, settings: context.config.retention, logger: context.logger)
        var removed = 0
        for collector in [CloudTrailTransformer.collector, BillingTransformer.collector, InventoryTransformer.collector, IAMTransformer.collector,
                          S3SearchTransformer.collector] {
            removed += try retention.pruneRaw(collector: collector, now: context.clock.now())
        }
        report.add("raw_runs_removed", Int64(removed))
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
            // The collector is the NDJSON folder's name (ndjson/<collector>/...); its template goes first.
            let url = URL(fileURLWithPath: replay).standardizedFileURL
            let folder = SpoolFiles.isDirectory(url) ? url : url.deletingLastPathComponent()
            let collector = collectors.contains(folder.lastPathComponent) ? folder.lastPathComponent : CloudTrailTransformer.collector
            let templates = [CloudTrailTransformer.collector: naming.cloudtrailTemplate, InventoryTransformer.collector: naming.inventoryTemplate,
                             IAMTransformer.collector: naming.usersTemplate, S3SearchTransformer.collector: naming.s3Template,
                             BillingLoader.collector: naming.billingTemplate]
            try loader.replay(path: url, collector: collector, template: templates[collector] ?? naming.cloudtrailTemplate, report: &report)
            return
        }
        try loader.run(collector: CloudTrailTransformer.collector, template: naming.cloudtrailTemplate, report: &report)
        try loader.run(collector: InventoryTransformer.collector, template: naming.inventoryTemplate, report: &report)
        try loader.run(collector: IAMTransformer.collector, template: naming.usersTemplate, report: &report)
        try loader.run(collector: S3SearchTransformer.collector, template: naming.s3Template, report: &report)
        try BillingLoader(bulk: loader, client: client, layout: context.layout, naming: naming, logger: context.logger).run(report: &report)
        if settings.indexRunReports {
            try RunReportIndexer(client: client, layout: context.layout, naming: naming, retentionDays: context.config.retention.rawDays,
                                 clock: context.clock, logger: context.logger).run(report: &report)
        }
        let retention = Retention(layout: context.layout, settings: context.config.retention, logger: context.logger)
        var removed = 0
        for collector in [CloudTrailTransformer.collector, InventoryTransformer.collector, IAMTransformer.collector, S3SearchTransformer.collector,
                          BillingLoader.collector] {
            removed += try retention.pruneNDJSON(collector: collector, now: context.clock.now())
        }
        report.add("ndjson_removed", Int64(removed))
    }
}
