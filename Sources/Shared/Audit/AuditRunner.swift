import Foundation
import Logging

/// The exit status of `cloudspool-audit`, as cron and monitoring see it.
public enum AuditExit: Int32, Sendable {
    /// Everything checked is as captured (and, for digests, as AWS delivered it).
    case intact = 0
    /// Something differs: a file altered, missing or unlisted, a broken chain, an invalid digest, a document that does not trace to intact bytes.
    case mismatch = 1
    /// The configuration or the command line is wrong; nothing was checked.
    case usage = 2
    /// The audit could not be done (the index or the spool could not be read); nothing is known.
    case unavailable = 3
}

/// What one audit command needs: the checked configuration, the spool, the clock, a logger.
public struct AuditContext: Sendable {
    public let config: CloudspoolConfig
    public let layout: SpoolLayout
    public let environment: [String: String]
    public let clock: RuntimeClock
    public let logger: Logger
}

/// Runs an audit the way every audit command runs: load the config, do the
/// work (reading only: no lock, nothing written to the spool), print the
/// output, and return the exit code.
public enum AuditRunner {
    /// The outcome of an audit command's work.
    public struct Outcome: Sendable {
        public let output: String
        public let exit: AuditExit
        /// Bytes written to stdout as they are, instead of `output` (an extracted raw record).
        public let bytes: [UInt8]?

        public init(output: String, exit: AuditExit, bytes: [UInt8]? = nil) {
            self.output = output
            self.exit = exit
            self.bytes = bytes
        }
    }

    public static func run(command: String, configPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                           clock: RuntimeClock = .system, logger: Logger, work: (AuditContext) throws -> Outcome) -> AuditExit {
        let program = "cloudspool-audit \(command)"
        let path = CloudspoolConfig.resolvePath(option: configPath, environment: environment)
        let config: CloudspoolConfig
        do {
            config = try CloudspoolConfig.load(path: path, today: clock.now())
        } catch {
            printError("\(program): \(StageRunner.describe(error))")
            return .usage
        }
        let context = AuditContext(config: config, layout: SpoolLayout(root: config.spool), environment: environment, clock: clock, logger: logger)
        do {
            let outcome = try work(context)
            if let bytes = outcome.bytes {
                FileHandle.standardOutput.write(Data(bytes))
            } else {
                print(outcome.output)
            }
            return outcome.exit
        } catch let error as CloudspoolError where error.code == .configuration {
            printError("\(program): \(error.description)")
            return .usage
        } catch {
            printError("\(program): the audit could not be done: \(StageRunner.describe(error))")
            return .unavailable
        }
    }

    /// `verify`: the raw captures against their manifests, and the chain of manifests.
    public static func verify(_ context: AuditContext, since: Date?, collector: String?, json: Bool) -> Outcome {
        let report = CaptureVerifier(layout: context.layout, since: since, collector: collector).verify()
        let scope = "\(context.layout.root.path) (\(collector.map { "collector \($0)" } ?? "every collector"), \(since.map { "runs since \(UTCDate.iso8601($0))" } ?? "every kept run"))"
        return Outcome(output: json ? report.json(scope: scope) : report.text(scope: scope), exit: report.intact ? .intact : .mismatch)
    }

    /// `digests`: CloudTrail log file integrity over everything kept.
    public static func digests(_ context: AuditContext, since: Date?, json: Bool) throws -> Outcome {
        let settings = try context.config.requireCloudTrail()
        let report = DigestAudit(layout: context.layout, bucket: settings.bucket, startDate: settings.startDate, now: context.clock.now(), since: since).run()
        let scope = "s3://\(settings.bucket) as kept in \(context.layout.root.path) (\(since.map { "digests since \(UTCDate.iso8601($0))" } ?? "every kept digest"))"
        return Outcome(output: json ? report.json(scope: scope) : report.text(scope: scope), exit: report.intact ? .intact : .mismatch)
    }

    /// `trace`: a document of the index back to its raw run, file, manifest entry and raw record.
    /// With `extract`, stdout gets the raw record's bytes only (the verdict is in the exit code and on stderr).
    public static func trace(_ context: AuditContext, index: String?, id: String, extract: Bool, json: Bool) throws -> Outcome {
        let documents = try fetchDocuments(context, index: index, id: id)
        guard let document = documents.first else {
            let text = "cloudspool-audit: trace: NOT FOUND: no document with id \(id) in \(index ?? "any index of the configured prefix"); check the id (and --index)"
            return Outcome(output: json ? JSONValue.object([("command", .string("trace")), ("intact", .bool(false)), ("found", .bool(false))]).jsonText : text,
                           exit: .mismatch)
        }
        let trace = ProvenanceLookup(layout: context.layout).trace(document)
        let exit: AuditExit = trace.intact ? .intact : .mismatch
        if documents.count > 1 {
            context.logger.notice("the id is in several indices; traced the first", metadata: ["indices": "\(documents.map(\.index).joined(separator: ", "))"])
        }
        if extract {
            guard let record = trace.record else {
                throw CloudspoolError(.spool, "no raw record to extract: \(trace.recordNote)")
            }
            if !trace.intact { printError("cloudspool-audit trace: the raw record is NOT VERIFIED:\n" + trace.text) }
            return Outcome(output: "", exit: exit, bytes: record)
        }
        return Outcome(output: json ? trace.json : trace.text, exit: exit)
    }

    /// The document `id` in `index` (GET), or in every index of the configured prefix (an ids query).
    static func fetchDocuments(_ context: AuditContext, index: String?, id: String) throws -> [ProvenanceLookup.Document] {
        let settings = try context.config.requireIndex()
        var credentials: (any CredentialProvider)?
        if settings.auth == .awsSigV4 {
            credentials = try AWSAccess(settings: context.config.aws, environment: context.environment, clock: context.clock, logger: context.logger).credentials
        }
        let client = try IndexClient(settings: settings, environment: context.environment, awsCredentials: credentials, clock: context.clock, logger: context.logger)
        func parse(_ response: HTTPResponse) throws -> JSONValue {
            do {
                return try JSONValueParser.parse(Array(response.body))
            } catch {
                throw CloudspoolError(.index, "the index answered something that is not JSON (HTTP \(response.status))")
            }
        }
        if let index {
            let response = try client.send(method: "GET", path: "/\(AWSURIEncoding.encode(index))/_doc/\(AWSURIEncoding.encode(id))")
            if response.status == 404 { return [] }
            guard response.status == 200 else {
                throw CloudspoolError(.index, "the index refused GET \(index)/_doc/\(id): HTTP \(response.status) \(IndexClient.describe(response))\(IndexClient.advice(response.status))")
            }
            let body = try parse(response)
            guard body["found"]?.boolValue != false, let source = body["_source"] else { return [] }
            return [ProvenanceLookup.Document(index: body["_index"]?.stringValue ?? index, id: id, source: source)]
        }
        let pattern = IndexNaming(config: context.config).prefix + "*"
        var query: [UInt8] = []
        JSONValue.object([("query", .object([("ids", .object([("values", .array([.string(id)]))]))])), ("size", .int(20))]).write(to: &query)
        let response = try client.send(method: "POST", path: "/\(AWSURIEncoding.encode(pattern))/_search", body: Data(query))
        guard response.status == 200 else {
            throw CloudspoolError(.index, "the index refused a search of \(pattern): HTTP \(response.status) \(IndexClient.describe(response))\(IndexClient.advice(response.status))")
        }
        return try parse(response)["hits"]?["hits"]?.arrayValue.compactMap { hit in
            guard let index = hit["_index"]?.stringValue, let source = hit["_source"] else { return nil }
            return ProvenanceLookup.Document(index: index, id: hit["_id"]?.stringValue ?? id, source: source)
        }.sorted { $0.index < $1.index } ?? []
    }

    /// A date given on the command line: `2026-11-28` or `2026-11-28T10:15:00Z`.
    public static func parseDate(_ text: String) -> Date? {
        UTCDate.parseDay(text) ?? UTCDate.parseISO8601(text)
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
