import Foundation
import Logging

/// Talks to one Elasticsearch/OpenSearch cluster: authentication (basic,
/// API key, SigV4 for Amazon OpenSearch Service), TLS settings, and error
/// answers turned into messages that say what to do.
public final class IndexClient: @unchecked Sendable {
    let settings: IndexSettings
    let http: HTTPClient
    let authorization: String?
    let signer: (any CredentialProvider, String)?
    let clock: RuntimeClock
    let logger: Logger

    public init(settings: IndexSettings, environment: [String: String], awsCredentials: (any CredentialProvider)?,
                clock: RuntimeClock = .system, logger: Logger) throws {
        self.settings = settings
        self.clock = clock
        self.logger = logger
        if !settings.tlsVerify {
            logger.warning("TLS verification of the index is OFF (index.tls_verify: false); anyone on the path can read and change what is sent")
        }
        http = try HTTPClient(configuration: HTTPClientConfiguration(
            connectTimeoutSeconds: min(10, settings.timeoutSeconds), stallTimeoutSeconds: settings.timeoutSeconds,
            totalTimeoutSeconds: settings.timeoutSeconds * 4, caBundle: settings.caBundle, verifyTLS: settings.tlsVerify))
        switch settings.auth {
        case .none:
            authorization = nil
            signer = nil
        case .basic:
            let password = try IndexSecret.read(file: settings.passwordFile, env: settings.passwordEnv, environment: environment, what: "index password")
            authorization = "Basic " + Data("\(settings.username ?? ""):\(password)".utf8).base64EncodedString()
            signer = nil
        case .apiKey:
            let key = try IndexSecret.read(file: settings.apiKeyFile, env: settings.apiKeyEnv, environment: environment, what: "index API key")
            authorization = "ApiKey " + key
            signer = nil
        case .awsSigV4:
            guard let awsCredentials else {
                throw CloudspoolError(.configuration, "index.auth: aws_sigv4 needs AWS credentials")
            }
            authorization = nil
            signer = (awsCredentials, settings.awsRegion ?? "us-east-1")
        }
    }

    private init(copying other: IndexClient) throws {
        settings = other.settings
        clock = other.clock
        logger = other.logger
        authorization = other.authorization
        signer = other.signer
        http = try HTTPClient(configuration: other.http.configuration)
    }

    /// A client with the same settings and its own connection, for another thread.
    /// (One client serves one thread at a time.)
    public func sibling() throws -> IndexClient {
        try IndexClient(copying: self)
    }

    /// Sends one request (no retry: callers decide). `path` starts with `/`.
    public func send(method: String, path: String, body: Data = Data(), contentType: String = "application/json") throws -> HTTPResponse {
        try send(method: method, url: settings.url + path, body: body, contentType: contentType)
    }

    /// Sends one request to `url` (the index's Dashboards, say) with the index's credentials and `headers`.
    public func send(method: String, url: String, body: Data = Data(), contentType: String = "application/json",
                     headers: [(String, String)] = []) throws -> HTTPResponse {
        var request = HTTPRequest(method: method, url: url, headers: [], body: body)
        for (name, value) in headers { request.setHeader(name, value) }
        if !body.isEmpty { request.setHeader("Content-Type", contentType) }
        if let authorization { request.setHeader("Authorization", authorization) }
        if let (credentials, region) = signer {
            let creds = try credentials.require(now: clock.now())
            SigV4Signer(credentials: creds, region: region, service: AWSService.opensearch.signingName).sign(&request, date: clock.now())
        }
        return try http.send(request)
    }

    /// A short description of an error answer, for messages.
    static func describe(_ response: HTTPResponse) -> String {
        if let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] {
            if let error = json["error"] as? [String: Any] {
                let type = error["type"] as? String ?? "error"
                let reason = error["reason"] as? String ?? ""
                return "\(type): \(reason)"
            }
            if let error = json["error"] as? String { return error }
        }
        return String(decoding: response.body.prefix(300), as: UTF8.self)
    }

    /// Installs (creates or updates) a composable index template.
    public func putIndexTemplate(name: String, body: Data) throws {
        let response = try send(method: "PUT", path: "/_index_template/\(AWSURIEncoding.encode(name))", body: body)
        guard (200..<300).contains(response.status) else {
            throw CloudspoolError(.index, "the index refused template \(name): HTTP \(response.status) \(Self.describe(response))\(Self.advice(response.status))")
        }
    }

    static func advice(_ status: Int) -> String {
        switch status {
        case 401: return "; check index.username and the password (index.password_file / password_env) or API key"
        case 403: return "; the index user needs the privileges to manage index templates and write to the indices (e.g. 'manage_index_templates', 'create_index', 'index')"
        case 413: return "; lower index.bulk_max_bytes"
        default: return ""
        }
    }
}
