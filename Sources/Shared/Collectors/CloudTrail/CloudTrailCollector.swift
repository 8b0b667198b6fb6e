import Foundation

extension Collector {
    /// CloudTrail log files of the trail bucket, each event into the index of the day it occurred.
    public static let cloudTrail = Collector(
        name: CloudTrailFetcher.collector,
        summary: "new trail bucket log files (from where it stopped) -> awscli-trail-*",
        config: CollectorConfigSection(key: "cloudtrail") { reader, context in
            try CloudTrailSettings(reader: &reader, today: context.today)
        },
        isConfigured: { $0.cloudtrail != nil },
        fetch: { context, report in
            let settings = try context.config.requireCloudTrail()
            let s3 = try context.requireAWS().s3(bucket: settings.bucket, region: settings.bucketRegion)
            try CloudTrailFetcher(context: context, settings: settings, s3: s3).run(report: &report)
        },
        transform: { CloudTrailTransformer(context: $0) },
        replaysLooseFiles: true,
        templates: { naming in
            [IndexTemplate(name: naming.prefix + "cloudspool-cloudtrail", body: IndexTemplates.cloudTrail(indexStem: naming.cloudtrailStem))]
        },
        awsActions: ["s3:ListBucket", "s3:GetObject"],
        check: { context in
            guard let settings = context.config.cloudtrail else { return [] }
            return [CollectorChecks.bucket(context, check: "trail bucket", bucket: settings.bucket, region: settings.bucketRegion,
                                           prefix: settings.prefix + "AWSLogs/", readable: { $0.hasSuffix(".json.gz") })]
        }
    )
}

extension CloudspoolConfig {
    /// The `cloudtrail` section, if the config has one.
    public var cloudtrail: CloudTrailSettings? { section("cloudtrail") }

    /// The `cloudtrail` section, or an error saying it is needed.
    public func requireCloudTrail() throws -> CloudTrailSettings {
        try requireSection("cloudtrail", "fetch CloudTrail logs (at least cloudtrail.bucket)")
    }
}
