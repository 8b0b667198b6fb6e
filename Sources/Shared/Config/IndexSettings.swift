import Foundation

/// The Elasticsearch/OpenSearch cluster that load writes to.
public struct IndexSettings: Sendable {
    /// How load authenticates to the index.
    public enum Auth: String, Sendable {
        case none, basic, apiKey = "api_key", awsSigV4 = "aws_sigv4"
    }

    public let url: String
    public let auth: Auth
    public let username: String?
    public let passwordFile: String?
    public let passwordEnv: String?
    public let apiKeyFile: String?
    public let apiKeyEnv: String?
    public let awsRegion: String?
    public let caBundle: String?
    public let tlsVerify: Bool
    public let timeoutSeconds: Int
    public let maxRetries: Int
    public let bulkMaxBytes: Int
    public let bulkMaxDocs: Int
    /// `_bulk` requests in flight at once (each on its own connection).
    public let bulkConcurrency: Int
    /// Whether `_bulk` bodies are sent gzip-compressed (`Content-Encoding: gzip`).
    public let compression: Compression
    public let indexPrefix: String
    /// Whether load also indexes the stages' run reports (`cloudspool-runs-YYYY.MM`).
    public let indexRunReports: Bool
    /// Index name stems per collector (e.g. cloudtrail -> awscli-trail).
    public let names: IndexNames
    /// Kibana / OpenSearch Dashboards / Energy Logserver, for `cloudspool-load --install-dashboards`.
    public let dashboardsURL: String?

    /// How `_bulk` bodies travel.
    public enum Compression: String, Sendable {
        /// gzip (level 1): CloudTrail documents shrink about tenfold on the wire.
        case gzip
        case none
    }

    init(reader: inout ConfigNodeReader) throws {
        guard let url = try reader.string("url"), url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw reader.error("url", "is required and must start with http:// or https:// (e.g. https://127.0.0.1:9200)")
        }
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        let authName = try reader.choice("auth", default: "none", allowed: ["none", "basic", "api_key", "aws_sigv4"])
        auth = Auth(rawValue: authName) ?? .none
        username = try reader.string("username")
        passwordFile = try reader.string("password_file")
        passwordEnv = try reader.string("password_env")
        apiKeyFile = try reader.string("api_key_file")
        apiKeyEnv = try reader.string("api_key_env")
        awsRegion = try reader.string("aws_region")
        caBundle = try reader.string("ca_bundle")
        tlsVerify = try reader.bool("tls_verify", default: true)
        timeoutSeconds = try reader.int("timeout_seconds", default: 60, range: 1...3600)
        maxRetries = try reader.int("max_retries", default: 8, range: 0...50)
        bulkMaxBytes = try reader.int("bulk_max_bytes", default: 5 << 20, range: 1024...(1 << 30))
        bulkMaxDocs = try reader.int("bulk_max_docs", default: 5000, range: 1...1_000_000)
        bulkConcurrency = try reader.int("bulk_concurrency", default: 2, range: 1...16)
        compression = Compression(rawValue: try reader.choice("compression", default: "gzip", allowed: ["gzip", "none"])) ?? .gzip
        indexPrefix = try reader.string("index_prefix", default: "")
        indexRunReports = try reader.bool("run_reports", default: true)
        let dashboards = try reader.string("dashboards_url")
        if let dashboards, !(dashboards.hasPrefix("http://") || dashboards.hasPrefix("https://")) {
            throw reader.error("dashboards_url", "must start with http:// or https:// (e.g. https://127.0.0.1:5601)")
        }
        dashboardsURL = dashboards.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        var namesReader = try reader.child("names")
        names = IndexNames(cloudtrail: try namesReader.string("cloudtrail", default: "awscli-trail"),
                           billing: try namesReader.string("billing", default: "awsbilling"),
                           inventory: try namesReader.string("inventory", default: "awscli"),
                           users: try namesReader.string("users", default: "awsusers-000001"))
        try namesReader.finish()
        switch auth {
        case .basic:
            if username == nil { throw reader.error("username", "is required with auth: basic") }
            if passwordFile == nil && passwordEnv == nil {
                throw reader.error("password_file", "or password_env is required with auth: basic (never put the password itself in the config)")
            }
        case .apiKey:
            if apiKeyFile == nil && apiKeyEnv == nil {
                throw reader.error("api_key_file", "or api_key_env is required with auth: api_key")
            }
        case .none, .awsSigV4:
            break
        }
    }
}
