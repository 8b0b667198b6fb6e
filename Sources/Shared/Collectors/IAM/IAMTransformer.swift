import Foundation
import Logging

/// The IAM transform: each raw IAM run becomes one document per user and
/// account in `awsusers-000001` (id `<account>:<user>`, so each run updates
/// it). Days are counted from the fetch run's time, so a replay gives the
/// same documents.
public final class IAMTransformer: RawRunTransform {
    public static let collector = IAMFetcher.collector

    public let layout: SpoolLayout
    let naming: IndexNaming
    let settings: IAMSettings
    let ndjson: NDJSONOutput.Settings
    public let clock: RuntimeClock
    let logger: Logger
    /// Built on first use: runs without answers to decode do not pay for reading the shape table.
    lazy var decoder = AWSResponseDecoder()

    public init(context: StageContext, settings: IAMSettings) {
        self.layout = context.layout
        self.naming = context.naming
        self.settings = settings
        self.ndjson = context.ndjson
        self.clock = context.clock
        self.logger = context.logger
    }

    public func transform(runFolder: URL, outputName: String, replay: Bool, report: inout RunReport) throws {
        let run = try RawRunManifest.read(runFolder: runFolder)
        let asOf = RunID(run.runId)?.date ?? clock.now()
        var reports: [String: Data] = [:]
        var reportFiles: [String: String] = [:]
        var users: [String: [String: JSONValue]] = [:]
        var groups: [String: [String: [String]]] = [:]
        var names: [String: String] = [:]
        for entry in run.entries {
            guard let account = entry.account else { continue }
            guard ["GetCredentialReport", "ListUsers", "ListGroupsForUser", "ListAccounts"].contains(entry.operation) else { continue }
            guard let body = try verifiedData(entry, runFolder: runFolder, runID: run.runId, replay: replay, report: &report) else { continue }
            let value: JSONValue
            do {
                value = try decoder.decode(service: entry.service, operation: entry.operation, body: body)
            } catch let error as CloudspoolError {
                report.errors.append("\(entry.path) of IAM run \(run.runId): \(error.message)")
                continue
            }
            switch entry.operation {
            case "GetCredentialReport":
                guard let content = value["Content"]?.stringValue, let csv = Data(base64Encoded: content) else {
                    report.errors.append("\(entry.path): the credential report of account \(account) has no readable content")
                    continue
                }
                reports[account] = csv
                reportFiles[account] = entry.path
            case "ListUsers":
                for user in value["Users"]?.arrayValue ?? [] {
                    if let name = user["UserName"]?.stringValue { users[account, default: [:]][name] = user }
                }
            case "ListGroupsForUser":
                if let user = entry.parameters["UserName"] {
                    groups[account, default: [:]][user, default: []] += (value["Groups"]?.arrayValue ?? []).compactMap { $0["GroupName"]?.stringValue }
                }
            default:
                for item in value["Accounts"]?.arrayValue ?? [] {
                    if let id = item["Id"]?.stringValue, let name = item["Name"]?.stringValue { names[id] = name }
                }
            }
        }
        let output = try NDJSONOutput(layout: layout, collector: Self.collector, baseName: outputName, settings: ndjson)
        do {
            var out: [UInt8] = []
            for account in reports.keys.sorted() {
                var parser = CSVStreamParser()
                var header: [String] = []
                var rows: [[String]] = []
                let collect: (CSVStreamParser.Row) throws -> Void = { row in
                    let values = (0..<row.count).map { row.string($0) }
                    if header.isEmpty { header = values } else { rows.append(values) }
                }
                try reports[account]!.withUnsafeBytes { try parser.feed($0, row: collect) }
                try parser.finish(row: collect)
                for values in rows {
                    guard values.count == header.count else {
                        report.errors.append("the credential report of account \(account) has a row with \(values.count) columns, the header \(header.count)")
                        continue
                    }
                    let name = values[0]
                    let document = CredentialReportDocument.build(account: account, accountName: names[account], header: header, values: values,
                                                                  groups: groups[account]?[name] ?? [], user: users[account]?[name],
                                                                  asOf: asOf, inactiveDays: settings.inactiveDays, runID: run.runId,
                                                                  rawFile: reportFiles[account])
                    let action: JSONValue = .object([("index", .object([("_index", .string(naming.usersIndex)), ("_id", .string("\(account):\(name)"))]))])
                    action.write(to: &out)
                    out.append(10)
                    document.write(to: &out)
                    out.append(10)
                    report.add("documents")
                }
            }
            try output.write(out)
            let files = try output.commit()
            report.add("ndjson_files", Int64(files.count))
        } catch {
            output.discard()
            throw error
        }
        report.add("files")
        logger.info("IAM run transformed", metadata: ["run": "\(run.runId)", "accounts": "\(reports.count)"])
    }
}
