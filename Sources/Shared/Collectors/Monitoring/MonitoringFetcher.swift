import Crypto
import Foundation
import Logging

/// The monitoring source of fetch: asks every configured monitoring system
/// for its hosts and stores each answer byte for byte in one raw run
/// (`raw/monitoring/<run-id>/responses/<source>/…`), whatever it was: a
/// whole answer, an error, a truncated one. A source that could not be read
/// whole is recorded in the run's failures, so the inventory transform says
/// `unknown` for what that source would have told, never `false`.
public final class MonitoringFetcher {
    public static let collector = "monitoring"

    let settings: MonitoringSettings
    let layout: SpoolLayout
    let environment: [String: String]
    let clock: RuntimeClock
    let logger: Logger
    let idVariables: Set<String>

    public init(context: StageContext, settings: MonitoringSettings) {
        self.settings = settings
        self.layout = context.layout
        self.environment = context.environment
        self.clock = context.clock
        self.logger = context.logger
        self.idVariables = Set(settings.instanceIdVariables.map(MonitoringHost.normalisedVariableName))
    }

    /// The failure `call` of a source in the run manifest.
    static func failureCall(source: String) -> String { "monitoring \(source)" }

    public func run(report: inout RunReport) throws {
        // Passwords first: a password file others can read stops the run before any source is asked.
        var passwords: [String: String] = [:]
        for source in settings.sources where source.type == .op5 {
            passwords[source.name] = try IndexSecret.read(file: source.passwordFile, env: source.passwordEnv, environment: environment,
                                                          what: "password of monitoring source '\(source.name)'")
        }
        let now = clock.now()
        let writer = try RawRunWriter(layout: layout, collector: Self.collector, runID: RunID(date: now), startedAt: now)
        var failures: [RawRunManifest.Failure] = []
        do {
            for source in settings.sources {
                try StopRequest.checkpoint("before monitoring source \(source.name)")
                let started = MonotonicDeadline.now()
                do {
                    let hosts: Int
                    switch source.type {
                    case .livestatus: hosts = try fetchLivestatus(source, writer: writer)
                    case .op5: hosts = try fetchOP5(source, password: passwords[source.name] ?? "", writer: writer)
                    case .file: hosts = try fetchList(source, writer: writer)
                    }
                    report.add("hosts", Int64(hosts))
                    logger.info("monitoring source read", metadata: ["source": "\(source.name)", "hosts": "\(hosts)",
                                                                      "seconds": "\(String(format: "%.2f", MonotonicDeadline.now() - started))"])
                } catch let error as CloudspoolError where error.code != .spool && error.code != .stopped {
                    let text = "monitoring source '\(source.name)' (\(Self.describe(source))): \(error.message)"
                    failures.append(RawRunManifest.Failure(account: nil, region: nil, call: Self.failureCall(source: source.name), error: text))
                    report.errors.append(text + "; the inventory says monitoring.monitored=unknown where this source would decide")
                    logger.warning("monitoring source failed", metadata: ["source": "\(source.name)", "error": "\(error.message)"])
                } catch let error as HTTPClientError {
                    let text = "monitoring source '\(source.name)' (\(Self.describe(source))): \(error.description)"
                    failures.append(RawRunManifest.Failure(account: nil, region: nil, call: Self.failureCall(source: source.name), error: text))
                    report.errors.append(text + "; the inventory says monitoring.monitored=unknown where this source would decide")
                }
            }
            report.add("calls", Int64(writer.count))
            report.add("bytes", writer.bytes)
            // A run whose every source failed is committed too: it tells transform the sources are down now.
            writer.failures = failures
            try writer.commit(finishedAt: clock.now())
            report.add("runs")
        } catch {
            writer.discard()
            throw error
        }
    }

    static func describe(_ source: MonitoringSettings.Source) -> String {
        switch source.type {
        case .livestatus: return "livestatus \(source.address?.description ?? "")"
        case .op5: return "op5 \(URLParts.host(of: source.url ?? ""))"
        case .file: return "file \(source.path ?? "")"
        }
    }

    // MARK: livestatus

    func fetchLivestatus(_ source: MonitoringSettings.Source, writer: RawRunWriter) throws -> Int {
        guard let address = source.address else { throw CloudspoolError(.configuration, "monitoring source '\(source.name)' has no address") }
        let client = LivestatusClient(address: address, timeout: TimeInterval(source.timeoutSeconds))
        let request = LivestatusClient.hostsRequest(columns: MonitoringHost.livestatusColumns)
        let path = "responses/\(source.name)/hosts.livestatus"
        let requestedAt = clock.now()
        var file: RawAnswerFile?
        var answer = LivestatusAnswer()
        var rows = RowValidator(parse: { [idVariables] in _ = try MonitoringHost.livestatusRow($0, idVariables: idVariables) })
        var failure: Error?
        do {
            try client.query(request) { chunk in
                if file == nil { file = try RawAnswerFile(writer: writer, path: path) }
                try file!.write(chunk)
                try answer.feed(chunk) { header, body in
                    if header.status == 200 { rows.feed(body) }
                }
            }
        } catch let error as CloudspoolError where error.code != .spool && error.code != .stopped {
            failure = error
        }
        // What came is kept, whole or not: the run shows what the source said.
        if let file {
            let stored = try file.finish()
            try writer.add(RawRunManifest.Entry(path: path, service: source.type.rawValue, operation: "hosts", account: nil, region: nil,
                                            parameters: ["source": source.name, "address": address.description, "query": "GET hosts"],
                                            requestedAt: UTCDate.iso8601(requestedAt), httpStatus: answer.header?.status ?? 0,
                                            size: stored.size, sha256: stored.sha256))
        }
        if let failure { throw failure }
        let header = try answer.finish()
        guard header.status == 200 else {
            throw CloudspoolError(.monitoring, "livestatus answered status \(header.status): \(answer.errorText)")
        }
        return try rows.finish()
    }

    // MARK: OP5 Monitor HTTP API

    func fetchOP5(_ source: MonitoringSettings.Source, password: String, writer: RawRunWriter) throws -> Int {
        let client = OP5Client(source: source, password: password)
        let http = try HTTPClient(configuration: HTTPClientConfiguration(
            connectTimeoutSeconds: source.timeoutSeconds, stallTimeoutSeconds: source.timeoutSeconds, totalTimeoutSeconds: source.timeoutSeconds,
            caBundle: source.caBundle, verifyTLS: source.tlsVerify))
        var hosts = 0
        var offset = 0
        for page in 1...OP5Client.maxPages {
            let request = client.request(offset: offset)
            let path = String(format: "responses/%@/hosts-%04d.json", source.name, page)
            let requestedAt = clock.now()
            var file: RawAnswerFile?
            var rows = RowValidator(parse: { [idVariables] in _ = try MonitoringHost.op5Row($0, idVariables: idVariables) })
            var errorBody: [UInt8] = []
            var failure: Error?
            var head = HTTPResponseHead(status: 0, headers: [:])
            do {
                head = try http.send(request) { head, chunk in
                    if file == nil { file = try RawAnswerFile(writer: writer, path: path) }
                    try file!.write(chunk)
                    if head.status == 200 { rows.feed(chunk) } else if errorBody.count < 2048 { errorBody.append(contentsOf: chunk.prefix(2048 - errorBody.count)) }
                }
            } catch let error as HTTPClientError {
                failure = error
            }
            if let file {
                let stored = try file.finish()
                try writer.add(RawRunManifest.Entry(path: path, service: source.type.rawValue, operation: "hosts", account: nil, region: nil,
                                                parameters: ["source": source.name, "url": request.url, "limit": "\(source.pageSize)", "offset": "\(offset)"],
                                                requestedAt: UTCDate.iso8601(requestedAt), httpStatus: head.status, size: stored.size, sha256: stored.sha256))
            }
            if let failure { throw failure }
            guard head.status == 200 else { throw OP5Client.statusError(status: head.status, body: errorBody, user: source.username ?? "") }
            if let type = head.headers["content-type"], !type.lowercased().contains("json") {
                throw CloudspoolError(.monitoring, "the OP5 API answered \(type), not JSON (a login page? check the url)")
            }
            let count: Int
            do {
                count = try rows.finish()
            } catch let error as CloudspoolError {
                throw CloudspoolError(.monitoring, "page \(page) of the OP5 API answer: \(error.message)")
            }
            hosts += count
            if count < source.pageSize { return hosts }
            offset += source.pageSize
        }
        throw CloudspoolError(.monitoring, "the OP5 API kept sending full pages after \(OP5Client.maxPages) pages of \(source.pageSize) hosts; raise page_size")
    }

    // MARK: host list

    func fetchList(_ source: MonitoringSettings.Source, writer: RawRunWriter) throws -> Int {
        let listPath = source.path ?? ""
        let requestedAt = clock.now()
        guard let data = FileManager.default.contents(atPath: listPath) else {
            throw CloudspoolError(.monitoring, "cannot read the host list \(listPath): \(FileManager.default.fileExists(atPath: listPath) ? "not readable by this user" : "no such file")")
        }
        let path = "responses/\(source.name)/hosts.txt"
        let file = try RawAnswerFile(writer: writer, path: path)
        try data.withUnsafeBytes { try file.write($0) }
        let stored = try file.finish()
        try writer.add(RawRunManifest.Entry(path: path, service: source.type.rawValue, operation: "hosts", account: nil, region: nil,
                                        parameters: ["source": source.name, "path": listPath], requestedAt: UTCDate.iso8601(requestedAt),
                                        httpStatus: 200, size: stored.size, sha256: stored.sha256))
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap(MonitoringHost.listLine).count
    }
}

/// Validates, as the bytes arrive, that an answer is a JSON array of host
/// rows, and counts them. Remembers the first problem instead of stopping
/// the transfer, so the whole answer is still stored.
struct RowValidator {
    let parse: (JSONValue) throws -> Void
    private var splitter = JSONArrayStreamSplitter()
    private var problem: Error?

    init(parse: @escaping (JSONValue) throws -> Void) {
        self.parse = parse
    }

    mutating func feed(_ chunk: UnsafeRawBufferPointer) {
        guard problem == nil else { return }
        var row = splitter.count
        let parse = self.parse
        do {
            try splitter.feed(chunk) { element in
                row += 1
                let value: JSONValue
                do {
                    value = try JSONValueParser.parse(Array(element))
                } catch {
                    throw CloudspoolError(.format, "row \(row) is not JSON (\(error))")
                }
                try parse(value)
            }
        } catch {
            problem = error
        }
    }

    /// The number of rows, or the first problem.
    func finish() throws -> Int {
        if let problem { throw CloudspoolError(.monitoring, "the answer is not a JSON array of hosts (\((problem as? CloudspoolError)?.message ?? "\(problem)"))") }
        do {
            try splitter.finish()
        } catch let error as CloudspoolError {
            throw CloudspoolError(.monitoring, "the answer is not a JSON array of hosts (\(error.message))")
        }
        return splitter.count
    }
}

/// One stored answer of a raw run, written as it arrives, with its size and SHA-256.
final class RawAnswerFile {
    private let file: OutputFile
    private var hasher = SHA256()
    private var size: Int64 = 0

    init(writer: RawRunWriter, path: String) throws {
        file = try OutputFile(creating: try writer.fileURL(path))
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        try file.write(chunk)
        hasher.update(bufferPointer: chunk)
        size += Int64(chunk.count)
    }

    func finish() throws -> (size: Int64, sha256: String) {
        try file.sync()
        try file.close()
        return (size, hasher.finalize().hexString)
    }
}
