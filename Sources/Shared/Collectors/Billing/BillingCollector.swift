import Foundation

extension Collector {
    /// Cost & Usage Reports: every line item of the latest revision of each month.
    public static let billing = Collector(
        name: BillingFetcher.collector,
        summary: "each new Cost & Usage Report revision -> awsbilling-YYYY.MM",
        config: CollectorConfigSection(key: "billing") { reader, _ in try BillingSettings(reader: &reader) },
        isConfigured: { $0.billing != nil },
        fetch: { context, report in
            let settings = try context.config.requireBilling()
            let s3 = try context.requireAWS().s3(bucket: settings.bucket, region: settings.bucketRegion)
            try BillingFetcher(context: context, settings: settings, s3: s3).run(report: &report)
        },
        transform: { BillingTransformer(context: $0) },
        templates: { [billingTemplate($0)] },
        load: .custom { context, index, report in
            try BillingLoader(context: context, index: index).run(report: &report)
        },
        awsActions: ["s3:ListBucket", "s3:GetObject"],
        check: { context in
            guard let settings = context.config.billing else { return [] }
            // Report files can be gigabytes: only a manifest is read.
            return [CollectorChecks.bucket(context, check: "report bucket", bucket: settings.bucket, region: settings.bucketRegion,
                                           prefix: settings.prefix, readable: { $0.hasSuffix("Manifest.json") })]
        }
    )

    /// The template of the per-revision billing indices.
    static func billingTemplate(_ naming: IndexNaming) -> IndexTemplate {
        IndexTemplate(name: naming.prefix + "cloudspool-billing", body: IndexTemplates.billing(revisionStem: naming.billingRevisionStem))
    }
}

extension CloudspoolConfig {
    /// The `billing` section, if the config has one.
    public var billing: BillingSettings? { section("billing") }

    /// The `billing` section, or an error saying it is needed.
    public func requireBilling() throws -> BillingSettings {
        try requireSection("billing", "fetch Cost & Usage Reports (at least billing.bucket and billing.report_name)")
    }
}
