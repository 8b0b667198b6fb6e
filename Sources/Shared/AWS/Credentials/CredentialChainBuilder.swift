import Foundation
import Logging

/// Builds the credential chain the AWS SDKs use: environment variables, the
/// shared config/credentials profile (with `role_arn` + `source_profile` or
/// `credential_source`), then the EC2 instance role.
public struct CredentialChainBuilder: Sendable {
    let environment: [String: String]
    let defaultRegion: String
    let httpConfiguration: HTTPClientConfiguration
    let retry: RetryPolicy
    let clock: RuntimeClock
    let logger: Logger

    public init(environment: [String: String], defaultRegion: String, httpConfiguration: HTTPClientConfiguration,
                retry: RetryPolicy, clock: RuntimeClock = .system, logger: Logger) {
        self.environment = environment
        self.defaultRegion = defaultRegion
        self.httpConfiguration = httpConfiguration
        self.retry = retry
        self.clock = clock
        self.logger = logger
    }

    /// The standard chain; `profile` (from the cloudspool config) wins over `AWS_PROFILE`.
    public func standardChain(profile: String? = nil) throws -> any CredentialProvider {
        let shared = try AWSSharedConfig.load(environment: environment)
        if let profile {
            // An explicitly named profile is used alone: a typo must not fall back to other credentials.
            return try profileProvider(profile, shared: shared, visited: [])
        }
        var providers: [any CredentialProvider] = [EnvironmentCredentialProvider(environment: environment)]
        let name = environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"]
        if let name, !name.isEmpty {
            providers.append(try profileProvider(name, shared: shared, visited: []))
        } else if shared.profiles["default"] != nil {
            providers.append(try profileProvider("default", shared: shared, visited: []))
        }
        providers.append(CachingCredentialProvider(InstanceMetadataCredentialProvider(environment: environment)))
        return CredentialProviderChain(providers)
    }

    /// A role in another account, assumed with `base` credentials (the organization fan-out).
    public func assumeRole(arn: String, externalId: String?, base: any CredentialProvider, region: String? = nil) -> any CredentialProvider {
        CachingCredentialProvider(AssumeRoleCredentialProvider(
            roleArn: arn, sessionName: "cloudspool", externalId: externalId, source: base,
            region: region ?? defaultRegion, endpoints: AWSEndpointResolver(environment: environment),
            httpConfiguration: httpConfiguration, retry: retry, clock: clock, logger: logger))
    }

    func profileProvider(_ name: String, shared: AWSSharedConfig, visited: Set<String>) throws -> any CredentialProvider {
        guard let settings = shared.profiles[name] else {
            throw CloudspoolError(.credentials, "AWS profile '\(name)' is not defined in \(shared.configPath) or \(shared.credentialsPath)")
        }
        if let arn = settings["role_arn"] {
            guard !visited.contains(name) else {
                throw CloudspoolError(.credentials, "AWS profile '\(name)' has a source_profile loop")
            }
            let source: any CredentialProvider
            if let sourceProfile = settings["source_profile"] {
                if sourceProfile == name, let id = settings["aws_access_key_id"], let secret = settings["aws_secret_access_key"] {
                    source = StaticCredentialProvider(name: "profile \(name) keys", credentials: AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: settings["aws_session_token"]))
                } else {
                    source = try profileProvider(sourceProfile, shared: shared, visited: visited.union([name]))
                }
            } else if let credentialSource = settings["credential_source"] {
                switch credentialSource {
                case "Environment": source = EnvironmentCredentialProvider(environment: environment)
                case "Ec2InstanceMetadata": source = CachingCredentialProvider(InstanceMetadataCredentialProvider(environment: environment))
                default:
                    throw CloudspoolError(.credentials, "AWS profile '\(name)': credential_source '\(credentialSource)' is not supported (use Environment or Ec2InstanceMetadata)")
                }
            } else {
                throw CloudspoolError(.credentials, "AWS profile '\(name)' has role_arn but neither source_profile nor credential_source")
            }
            // ARNs never contain blanks; copies of setups written as "arn: aws: iam :: 1: role / X" still work.
            let cleanArn = arn.filter { !$0.isWhitespace }
            let duration = settings["duration_seconds"].flatMap(Int.init) ?? 3600
            return CachingCredentialProvider(AssumeRoleCredentialProvider(
                roleArn: cleanArn, sessionName: settings["role_session_name"] ?? "cloudspool", externalId: settings["external_id"],
                durationSeconds: duration, source: source, region: settings["region"] ?? defaultRegion,
                endpoints: AWSEndpointResolver(environment: environment), httpConfiguration: httpConfiguration,
                retry: retry, clock: clock, logger: logger))
        }
        if let id = settings["aws_access_key_id"], let secret = settings["aws_secret_access_key"] {
            return StaticCredentialProvider(name: "profile \(name)", credentials: AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: settings["aws_session_token"]))
        }
        throw CloudspoolError(.credentials, "AWS profile '\(name)' has no credentials (aws_access_key_id/aws_secret_access_key) and no role_arn")
    }
}
