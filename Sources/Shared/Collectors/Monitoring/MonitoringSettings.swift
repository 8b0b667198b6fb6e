import Foundation

/// The `monitoring` section: where the monitoring systems are read, and how
/// their hosts are matched with the inventory's EC2 instances.
public struct MonitoringSettings: Sendable {
    /// How a source is read.
    public enum SourceType: String, Sendable, CaseIterable {
        /// Livestatus (Naemon, Nagios + MK Livestatus, Icinga 2, Checkmk, OP5) over TCP or a unix socket.
        case livestatus
        /// The OP5 Monitor HTTP API (`/api/filter/query`).
        case op5
        /// A plain file of host names or addresses, one a line.
        case file
    }

    /// One monitoring system.
    public struct Source: Sendable {
        /// Its name: `monitoring.system` in the documents and its folder in the raw run.
        public let name: String
        public let type: SourceType
        /// Livestatus: `host:port` or a unix socket path.
        public let address: LivestatusAddress?
        /// OP5: the server's base URL (`https://op5.example`).
        public let url: String?
        /// OP5: the API user (`name` or `name$Module`).
        public let username: String?
        /// OP5: the password, from a file (refused when every user can read it) or an environment variable.
        public let passwordFile: String?
        public let passwordEnv: String?
        /// OP5: hosts asked per request (the API pages with limit/offset).
        public let pageSize: Int
        /// OP5: TLS settings.
        public let caBundle: String?
        public let tlsVerify: Bool
        /// File: the list of host names or addresses.
        public let path: String?
        /// Seconds a source may take to answer (connecting and reading the whole answer).
        public let timeoutSeconds: Int
    }

    public let sources: [Source]
    /// The matching rules, in the order they are tried for each host.
    public let match: [MonitoringMatchRule]
    /// Custom variables holding an instance id, compared without a leading `_` and case-insensitively.
    public let instanceIdVariables: [String]
    /// The monitoring run used for an inventory run must be at most this far from it in time.
    public let maxAgeMinutes: Int
    /// Whether monitoring hosts matching no instance get a document of their own.
    public let reportUnmatchedHosts: Bool

    init(reader: inout ConfigNodeReader) throws {
        var sources: [Source] = []
        var names = Set<String>()
        for var item in try reader.mappingList("sources") {
            let source = try Self.source(&item)
            guard names.insert(source.name).inserted else {
                throw item.error("name", "'\(source.name)' is given to two sources; each needs its own name")
            }
            try item.finish()
            sources.append(source)
        }
        if sources.isEmpty {
            throw reader.error("sources", "is required: a list of monitoring systems, each with a name and a type (livestatus, op5 or file)")
        }
        self.sources = sources
        let rules = try reader.stringList("match")
        if rules.isEmpty {
            match = MonitoringMatchRule.allCases
        } else {
            var seen = Set<MonitoringMatchRule>()
            match = try rules.map { name in
                guard let rule = MonitoringMatchRule(rawValue: name) else {
                    throw reader.error("match", "must list rules among \(MonitoringMatchRule.allCases.map(\.rawValue).joined(separator: ", ")), not '\(name)'")
                }
                guard seen.insert(rule).inserted else { throw reader.error("match", "lists '\(name)' twice") }
                return rule
            }
        }
        let variables = try reader.stringList("instance_id_variables")
        instanceIdVariables = variables.isEmpty ? ["EC2_INSTANCE_ID", "ec2_instance_id"] : variables
        maxAgeMinutes = try reader.int("max_age_minutes", default: 60, range: 1...10_080)
        reportUnmatchedHosts = try reader.bool("report_unmatched_hosts", default: true)
    }

    private static func source(_ item: inout ConfigNodeReader) throws -> Source {
        guard let name = try item.string("name"), !name.isEmpty else {
            throw item.error("name", "is required: a short name for the monitoring system (letters, digits, '.', '_', '-')")
        }
        guard !name.hasPrefix("."), name.utf8.count <= 64,
              name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._-".unicodeScalars.contains($0) }) else {
            throw item.error("name", "must be letters, digits, '.', '_' or '-' (at most 64, not starting with '.'), not '\(name)'")
        }
        let typeName = try item.choice("type", default: "", allowed: SourceType.allCases.map(\.rawValue))
        guard let type = SourceType(rawValue: typeName) else {
            throw item.error("type", "is required: livestatus, op5 or file")
        }
        let addressText = try item.string("address")
        let url = try item.string("url")
        let username = try item.string("username")
        let passwordFile = try item.string("password_file")
        let passwordEnv = try item.string("password_env")
        let pageSize = try item.int("page_size", default: 10_000, range: 1...1_000_000)
        let caBundle = try item.string("ca_bundle")
        let tlsVerify = try item.bool("tls_verify", default: true)
        let path = try item.string("path")
        let timeout = try item.int("timeout_seconds", default: 60, range: 1...3600)

        // Keys of another type are a mistake, not something to ignore.
        let given: [(String, Bool)] = [("address", addressText != nil), ("url", url != nil), ("username", username != nil),
                                       ("password_file", passwordFile != nil), ("password_env", passwordEnv != nil),
                                       ("page_size", item.isPresent("page_size")), ("ca_bundle", caBundle != nil),
                                       ("tls_verify", item.isPresent("tls_verify")), ("path", path != nil)]
        let allowed: Set<String>
        switch type {
        case .livestatus: allowed = ["address"]
        case .op5: allowed = ["url", "username", "password_file", "password_env", "page_size", "ca_bundle", "tls_verify"]
        case .file: allowed = ["path"]
        }
        for (key, present) in given where present && !allowed.contains(key) {
            throw item.error(key, "is not used by a source of type \(type.rawValue) (its keys: \(allowed.sorted().joined(separator: ", ")), name, type, timeout_seconds)")
        }

        var address: LivestatusAddress?
        switch type {
        case .livestatus:
            guard let addressText else {
                throw item.error("address", "is required for a livestatus source: host:port (e.g. 127.0.0.1:6558) or a unix socket path")
            }
            do {
                address = try LivestatusAddress(addressText)
            } catch let error as CloudspoolError {
                throw item.error("address", error.message)
            }
        case .op5:
            guard let url, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw item.error("url", "is required for an op5 source and must start with http:// or https:// (e.g. https://op5.example)")
            }
            guard URLParts.split(url).query.isEmpty else {
                throw item.error("url", "must be the server's address without a query (the API path is added)")
            }
            guard let username, !username.isEmpty else { throw item.error("username", "is required for an op5 source (the API user)") }
            if passwordFile == nil && passwordEnv == nil {
                throw item.error("password_file", "or password_env is required for an op5 source (never put the password itself in the config)")
            }
        case .file:
            guard let path, !path.isEmpty else { throw item.error("path", "is required for a file source: a file of host names or addresses, one a line") }
        }
        return Source(name: name, type: type, address: address, url: url.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
                      username: username, passwordFile: passwordFile, passwordEnv: passwordEnv, pageSize: pageSize,
                      caBundle: caBundle, tlsVerify: tlsVerify, path: path, timeoutSeconds: timeout)
    }
}

/// How a monitoring host is matched with an EC2 instance. For each host the
/// rules are tried in the configured order; the first rule that finds an
/// instance decides (and names every instance it finds).
public enum MonitoringMatchRule: String, Sendable, CaseIterable {
    /// A custom variable of the host (`_EC2_INSTANCE_ID`, `vars.ec2_instance_id`) holds the instance id.
    case customVariable = "custom_variable"
    /// The host's name, alias or display name is the instance id.
    case instanceID = "instance_id"
    /// The host's address (or name) is a private IPv4 address of the instance.
    case privateIP = "private_ip"
    /// The host's address (or name) is a public IPv4 address of the instance.
    case publicIP = "public_ip"
    /// The host's name or address is the instance's private DNS name (case-insensitive).
    case privateDNS = "private_dns"
    /// The host's name or address is the instance's public DNS name (case-insensitive).
    case publicDNS = "public_dns"
    /// The host's name, alias or display name is the instance's Name tag (case-insensitive).
    case nameTag = "name_tag"
}
