import Foundation

extension Collector {
    /// CloudTrail log file integrity validation: the trail's digest files and
    /// CloudTrail's public keys are fetched byte for byte (with each digest's
    /// signature from its object metadata), and the transform checks every
    /// digest's signature and chain and every log file it names against the
    /// copy fetch stored, into `cloudspool-audit-YYYY.MM`. Set up by the
    /// `cloudtrail` section (`validate_digests`, on by default); when the
    /// trail writes no digests there is nothing to do.
    public static let digests = Collector(
        name: CloudTrailFetcher.Source.digests.collector,
        summary: "CloudTrail digest files and public keys; signatures, chain, log files checked -> cloudspool-audit-YYYY.MM",
        config: nil,
        isConfigured: { $0.cloudtrail?.validateDigests == true },
        fetch: { context, report in
            let settings = try context.config.requireCloudTrail()
            guard settings.validateDigests else {
                throw CloudspoolError(.configuration, "\(context.config.file): cloudtrail.validate_digests is false: the digests collector has nothing to fetch")
            }
            let access = try context.requireAWS()
            let fetcher = CloudTrailFetcher(context: context, settings: settings, s3: try access.s3(bucket: settings.bucket, region: settings.bucketRegion),
                                            source: .digests)
            try fetcher.run(report: &report) { writer, report in
                try DigestPublicKeyFetcher(access: access, clock: context.clock, logger: context.logger)
                    .store(for: fetcher.stored, into: writer, report: &report)
            }
        },
        transform: { context in
            guard let settings = context.config.cloudtrail else { return nil }
            return DigestTransform(context: context, settings: settings)
        },
        templates: { naming in
            [IndexTemplate(name: naming.prefix + "cloudspool-audit", body: IndexTemplates.audit(indexPattern: naming.prefix + "cloudspool-audit-*"))]
        },
        awsActions: ["s3:ListBucket", "s3:GetObject", "cloudtrail:ListPublicKeys"],
        check: { context in
            guard let settings = context.config.cloudtrail, settings.validateDigests else { return [] }
            let region = settings.bucketRegion ?? context.config.aws.region
            return [PreflightCheck.attempt("cloudtrail ListPublicKeys", region,
                                           fix: "allow cloudtrail:ListPublicKeys (iam-policy.json), or set cloudtrail.validate_digests: false") {
                let count = try DigestPublicKeyFetcher(access: try context.requireAWS(), clock: context.clock, logger: context.logger).probe(region: region)
                return "\(count) public key(s) for the last day (digests are checked with the keys of the trail's home region)"
            }]
        }
    )
}
