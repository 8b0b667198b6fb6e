import Foundation

extension Collector {
    /// S3 object search: one document per object of the configured buckets, and one per bucket.
    public static let s3Search = Collector(
        name: S3SearchFetcher.collector,
        summary: "objects of the configured buckets -> awscli-s3-YYYY.MM.DD",
        config: CollectorConfigSection(key: "s3", requires: [.init(section: "inventory", why: "which gives the role name and the accounts")]) { reader, _ in
            try S3SearchSettings(reader: &reader)
        },
        isConfigured: { $0.s3 != nil },
        fetch: { context, report in
            guard let s3 = context.config.s3 else {
                throw CloudspoolError(.configuration, "\(context.config.file): the 's3' section is required to list buckets for the object search")
            }
            try S3SearchFetcher(context: context, settings: s3, inventory: try context.config.requireInventory()).run(report: &report)
        },
        transform: { S3SearchTransformer(context: $0) },
        templates: { naming in
            [IndexTemplate(name: naming.prefix + "cloudspool-s3", body: IndexTemplates.s3(indexPattern: "\(naming.inventoryStem)-s3-*"))]
        },
        awsActions: OrganizationAccess.awsActions + ["s3:ListAllMyBuckets", "s3:GetBucketLocation", "s3:ListBucket"],
        check: { context in
            // With the base credentials: a bucket of a member account is listed through that account's role by fetch.
            (context.config.s3?.buckets ?? []).map { bucket in
                PreflightCheck.attempt("searched bucket", "s3://\(bucket)", fix: "check the name; a bucket of a member account needs s3:ListBucket in that account's role") {
                    let s3 = try context.requireAWS().s3(bucket: bucket)
                    let region = (try? s3.bucketRegion().region) ?? context.config.aws.region
                    let page = try context.requireAWS().s3(bucket: bucket, region: region).listObjects(prefix: "")
                    return "listed (\(page.objects.count)\(page.nextContinuationToken != nil ? "+" : "") keys, \(region))"
                }
            }
        }
    )
}

extension CloudspoolConfig {
    /// The `s3` section (buckets of the object search), if the config has one.
    public var s3: S3SearchSettings? { section("s3") }
}
