import Foundation
import Logging

/// Credentials of an IAM role, obtained with `sts:AssumeRole` using another
/// provider's credentials. Wrap it in `CachingCredentialProvider` so the role
/// is assumed once and renewed shortly before it expires.
public final class AssumeRoleCredentialProvider: CredentialProvider, @unchecked Sendable {
    public let roleArn: String
    public let sessionName: String
    public let externalId: String?
    public let durationSeconds: Int
    let source: any CredentialProvider
    let region: String
    let endpoints: AWSEndpointResolver
    let httpConfiguration: HTTPClientConfiguration
    let retry: RetryPolicy
    let clock: RuntimeClock
    let logger: Logger
    private let lock = NSLock()

    public init(roleArn: String, sessionName: String = "cloudspool", externalId: String? = nil, durationSeconds: Int = 3600,
                source: any CredentialProvider, region: String, endpoints: AWSEndpointResolver,
                httpConfiguration: HTTPClientConfiguration, retry: RetryPolicy, clock: RuntimeClock = .system, logger: Logger) {
        self.roleArn = roleArn
        self.sessionName = sessionName
        self.externalId = externalId
        self.durationSeconds = durationSeconds
        self.source = source
        self.region = region
        self.endpoints = endpoints
        self.httpConfiguration = httpConfiguration
        self.retry = retry
        self.clock = clock
        self.logger = logger
    }

    public var name: String { "role \(roleArn)" }

    /// The account id in the role ARN (`arn:aws:iam::<account>:role/...`).
    public var account: String? {
        let parts = roleArn.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count > 4 ? String(parts[4]) : nil
    }

    public func credentials(now: Date) throws -> AWSCredentials? {
        try lock.withLock {
            let client = AWSClient(service: .sts, region: region, account: account,
                                   endpoint: endpoints.endpoint(for: .sts, region: region),
                                   credentials: source, http: try HTTPClient(configuration: httpConfiguration),
                                   retry: retry, clock: clock, logger: logger)
            var form: [(String, String)] = [
                ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleArn),
                ("RoleSessionName", sessionName), ("DurationSeconds", String(durationSeconds)),
            ]
            if let externalId { form.append(("ExternalId", externalId)) }
            let response: HTTPResponse
            do {
                response = try client.send(operation: "AssumeRole", method: "POST",
                                           headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                                           body: Data(AWSURIEncoding.query(form).utf8))
            } catch let error as AWSServiceError {
                throw CloudspoolError(.credentials, "cannot assume role \(roleArn): \(error.code): \(error.message); check the role exists in account \(account ?? "?"), trusts the caller, and the external id", underlying: error.requestId.map { "request id \($0)" })
            }
            let root = try XMLNode.parse(response.body, what: "sts AssumeRole")
            guard let creds = root.path("AssumeRoleResult", "Credentials"),
                  let id = creds.string("AccessKeyId"), let secret = creds.string("SecretAccessKey") else {
                throw CloudspoolError(.credentials, "sts AssumeRole for \(roleArn) answered without credentials")
            }
            let expiration = creds.string("Expiration").flatMap(UTCDate.parseISO8601)
            logger.debug("assumed role", metadata: ["role": "\(roleArn)", "expires": "\(expiration.map(UTCDate.iso8601) ?? "-")"])
            return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: creds.string("SessionToken"), expiration: expiration)
        }
    }
}
