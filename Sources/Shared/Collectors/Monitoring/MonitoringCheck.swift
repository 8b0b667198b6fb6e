import Foundation

/// What `cloudspool-fetch --check` tries for the monitoring collector: each
/// source answers the collector's own query (one host of it), nothing stored.
enum MonitoringCheck {
    static func checks(_ context: StageContext) -> [PreflightCheck] {
        guard let settings = context.config.monitoring else { return [] }
        return settings.sources.map { source in
            PreflightCheck.attempt("monitoring \(source.type.rawValue)", "\(source.name): \(MonitoringFetcher.describe(source))", fix: fix(source)) {
                switch source.type {
                case .livestatus: return try livestatus(source)
                case .op5: return try op5(source, environment: context.environment)
                case .file: return try list(source)
                }
            }
        }
    }

    static func fix(_ source: MonitoringSettings.Source) -> String {
        switch source.type {
        case .livestatus: return "check address (host:port or socket path), that livestatus is enabled there and that this user may connect"
        case .op5: return "check url, username and the password file (mode 0600/0640), and that the user may use the API"
        case .file: return "check path, and that the cron user can read the file"
        }
    }

    static func livestatus(_ source: MonitoringSettings.Source) throws -> String {
        guard let address = source.address else { throw CloudspoolError(.configuration, "no address") }
        var answer = LivestatusAnswer()
        var rows = RowValidator(parse: { _ = try MonitoringHost.livestatusRow($0, idVariables: []) })
        try LivestatusClient(address: address, timeout: TimeInterval(source.timeoutSeconds))
            .query(LivestatusClient.hostsRequest(columns: MonitoringHost.livestatusColumns, limit: 1)) { chunk in
                try answer.feed(chunk) { header, body in if header.status == 200 { rows.feed(body) } }
            }
        let header = try answer.finish()
        guard header.status == 200 else { throw CloudspoolError(.monitoring, "livestatus answered status \(header.status): \(answer.errorText)") }
        _ = try rows.finish()
        return "answers GET hosts with the collector's columns"
    }

    static func op5(_ source: MonitoringSettings.Source, environment: [String: String]) throws -> String {
        let password = try IndexSecret.read(file: source.passwordFile, env: source.passwordEnv, environment: environment,
                                            what: "password of monitoring source '\(source.name)'")
        let http = try HTTPClient(configuration: HTTPClientConfiguration(
            connectTimeoutSeconds: source.timeoutSeconds, stallTimeoutSeconds: source.timeoutSeconds, totalTimeoutSeconds: source.timeoutSeconds,
            caBundle: source.caBundle, verifyTLS: source.tlsVerify))
        let response = try http.send(OP5Client(source: source, password: password).request(offset: 0, limit: 1))
        guard response.status == 200 else { throw OP5Client.statusError(status: response.status, body: Array(response.body), user: source.username ?? "") }
        var rows = RowValidator(parse: { _ = try MonitoringHost.op5Row($0, idVariables: []) })
        response.body.withUnsafeBytes { rows.feed($0) }
        _ = try rows.finish()
        return "the API answers as user \(source.username ?? "")"
    }

    static func list(_ source: MonitoringSettings.Source) throws -> String {
        guard let data = FileManager.default.contents(atPath: source.path ?? "") else {
            throw CloudspoolError(.monitoring, "cannot read \(source.path ?? "")")
        }
        return "\(String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap(MonitoringHost.listLine).count) hosts listed"
    }
}
