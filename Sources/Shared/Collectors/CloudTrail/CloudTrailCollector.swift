import Foundation

extension Collector {
    /// CloudTrail log files of the trail bucket, each event into the index of the day it occurred.
    public static let cloudTrail = Collector(
        name: CloudTrailFetcher.collector,
        summary: "new trail bucket log files (from where it stopped, or as a queue announces them) -> awscli-trail-*",
        config: CollectorConfigSection(key: "cloudtrail") { reader, context in
            try CloudTrailSettings(reader: &reader, today: context.today)
        },
        isConfigured: { $0.cloudtrail != nil },
        fetch: { context, report in
            let settings = try context.config.requireCloudTrail()
            let aws = try context.requireAWS()
            let s3 = try aws.s3(bucket: settings.bucket, region: settings.bucketRegion)
            if let queue = settings.queue {
                let sqs = try aws.sqs(queue: queue.url, region: settings.bucketRegion)
                try CloudTrailQueueFetcher(context: context, settings: settings, queue: queue, s3: s3, sqs: sqs,
                                           stallTimeoutSeconds: aws.http.stallTimeoutSeconds).run(report: &report)
            } else {
                try CloudTrailFetcher(context: context, settings: settings, s3: s3).run(report: &report)
            }
        },
        transform: { CloudTrailTransformer(context: $0) },
        replaysLooseFiles: true,
        templates: { naming in
            [IndexTemplate(name: naming.prefix + "cloudspool-cloudtrail", body: IndexTemplates.cloudTrail(indexStem: naming.cloudtrailStem))]
        },
        // The queue actions are called in queue mode only (cloudtrail.queue_url).
        awsActions: ["s3:ListBucket", "s3:GetObject",
                     "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
        check: { context in
            guard let settings = context.config.cloudtrail else { return [] }
            var checks = [CollectorChecks.bucket(context, check: "trail bucket", bucket: settings.bucket, region: settings.bucketRegion,
                                                 prefix: settings.prefix + "AWSLogs/", readable: { $0.hasSuffix(".json.gz") })]
            if let queue = settings.queue {
                checks.append(PreflightCheck.attempt("trail queue", queue.url.url,
                                                     fix: "check cloudtrail.queue_url and that the policy grants sqs:GetQueueAttributes, sqs:ReceiveMessage, sqs:DeleteMessage and sqs:ChangeMessageVisibility on it") {
                    let attributes = try context.requireAWS().sqs(queue: queue.url, region: settings.bucketRegion).attributes()
                    let redrive = attributes.redrive.map { "redrive to \($0.deadLetterTargetArn.split(separator: ":").last ?? "") after \($0.maxReceiveCount) receives" }
                        ?? "no redrive policy (quarantine after \(queue.maxReceives) receives)"
                    return "\(attributes.approximateMessages.map(String.init) ?? "?") message(s) waiting, visibility \(attributes.visibilityTimeout) s, \(redrive)"
                })
            }
            return checks
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
