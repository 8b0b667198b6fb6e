import Foundation
import Logging

/// Everything fetch needs to reach AWS, built once from the config and the
/// environment: HTTP settings, retry policy, endpoints and the credential chain.
public struct AWSAccess: Sendable {
    public let http: HTTPClientConfiguration
    public let retry: RetryPolicy
    public let endpoints: AWSEndpointResolver
    public let credentials: any CredentialProvider
    public let chain: CredentialChainBuilder
    public let settings: AWSSettings
    let clock: RuntimeClock
    let logger: Logger

    public init(settings: AWSSettings, environment: [String: String], clock: RuntimeClock = .system, logger: Logger) throws {
        self.settings = settings
        self.clock = clock
        self.logger = logger
        if !settings.tlsVerify {
            logger.warning("TLS verification of AWS endpoints is OFF (aws.tls_verify: false)")
        }
        http = HTTPClientConfiguration(connectTimeoutSeconds: min(10, settings.timeoutSeconds), stallTimeoutSeconds: settings.timeoutSeconds,
                                       caBundle: settings.caBundle, verifyTLS: settings.tlsVerify)
        retry = RetryPolicy(maxRetries: settings.maxRetries)
        endpoints = AWSEndpointResolver(environment: environment)
        chain = CredentialChainBuilder(environment: environment, defaultRegion: settings.region, httpConfiguration: http,
                                       retry: retry, clock: clock, logger: logger)
        credentials = try chain.standardChain(profile: settings.profile)
    }

    /// An S3 client for `bucket` in `region`.
    public func s3(bucket: String, region: String? = nil) throws -> S3Client {
        S3Client(bucket: bucket, region: region ?? settings.region, credentials: credentials, http: try HTTPClient(configuration: http),
                 retry: retry, endpoints: endpoints, addressing: settings.s3Addressing, clock: clock, logger: logger)
    }
}
