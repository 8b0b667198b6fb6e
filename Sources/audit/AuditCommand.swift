import ArgumentParser
import Foundation
import Logging
import Shared

@main
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloudspool-audit",
        abstract: "Audit the raw captures: are they intact, are they what AWS delivered, where did a document come from.",
        discussion: """
        Reads the spool (and, for trace, the index); never changes either, and takes no lock, so it can run \
        beside the stages.

          verify    every kept raw run and quarantined capture against its manifest (size, SHA-256), files \
        missing or not listed, and the chain of manifests of each collector
          digests   CloudTrail log file integrity, as `aws cloudtrail validate-logs` does it: the digests' \
        signatures, their chain, and every log file they name against what was fetched
          trace     a document of the index back to its raw run, file, manifest entry and raw record

        Exit codes: 0 intact, 1 mismatch (something altered, missing, unlisted, a broken chain, an invalid \
        digest), 2 configuration or usage error, 3 the audit could not be done (index or spool unreadable).
        """,
        version: CloudspoolVersion.current,
        subcommands: [Verify.self, Digests.self, Trace.self]
    )

    static func main() {
        StageCommandMain.main(AuditCommand.self)
    }
}

/// The options every audit command takes.
struct AuditOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The config file.", discussion: "Default: $CLOUDSPOOL_CONFIG, else /etc/cloudspool/cloudspool.yaml.", valueName: "path"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("How much to log on stderr: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "warning"

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    var logger: Logger {
        CommonOptions.bootstrapLogging(label: "cloudspool.audit", level: Logger.Level(rawValue: logLevel) ?? .warning)
    }
}

func parseSince(_ text: String?) throws -> Date? {
    guard let text else { return nil }
    guard let date = AuditRunner.parseDate(text) else {
        throw ValidationError("--since must be a date like 2026-11-28 or 2026-11-28T10:15:00Z, not '\(text)'")
    }
    return date
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every kept raw run and quarantined capture against its manifest, and the chain of manifests.",
        discussion: """
        Prints one line per run (files, bytes, chain, result), then every problem: MISSING (listed, not there), \
        ALTERED (size or SHA-256 differs), UNLISTED (there, not listed), MANIFEST (unreadable or contradicting \
        its folder), CHAIN (a run deleted, rewritten or inserted), FOREIGN (not written by fetch).
        """
    )

    @OptionGroup var options: AuditOptions

    @Option(name: .long, help: ArgumentHelp("Only runs started on or after this day or time (YYYY-MM-DD or an ISO 8601 time).", valueName: "date"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only this collector: \(Collectors.names.joined(separator: ", ")).", valueName: "name"))
    var collector: String?

    func validate() throws {
        _ = try parseSince(since)
        if let collector, Collectors.named(collector) == nil {
            throw ValidationError("unknown collector '\(collector)': choose from \(Collectors.names.joined(separator: ", "))")
        }
    }

    func run() throws {
        let since = try parseSince(since)
        let exit = AuditRunner.run(command: "verify", configPath: options.config, logger: options.logger) { context in
            AuditRunner.verify(context, since: since, collector: collector, json: options.json)
        }
        throw ExitCode(exit.rawValue)
    }
}

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trace a document of the index to its raw run, file, manifest entry and raw record.",
        discussion: """
        Reads the document (GET <index>/_doc/<id>, or an ids query over every index of the configured prefix), \
        then its provenance (cloudspool.run_id, cloudspool.raw_file, for CloudTrail cloudspool.log_file): prints \
        the raw run, the file, its manifest entry, whether the file and the run's chain link are intact, and \
        which raw record the document holds. --extract prints that record's exact bytes (a CloudTrail record as \
        in the log file, a CUR row under its header, the raw answer page of an inventory, IAM or S3 document). \
        Exit 0 when the document traces to intact bytes, 1 when it does not (file altered or missing, run \
        pruned, record not found).
        """
    )

    @OptionGroup var options: AuditOptions

    @Option(name: .long, help: ArgumentHelp("The document id (_id).", valueName: "id"))
    var id: String

    @Option(name: .long, help: ArgumentHelp("The index (or alias) holding it; default: search every index of the configured prefix.", valueName: "index"))
    var index: String?

    @Flag(name: .long, help: "Print only the exact raw record (for piping into jq or diff); the verdict is the exit code.")
    var extract = false

    func run() throws {
        let exit = AuditRunner.run(command: "trace", configPath: options.config, logger: options.logger) { context in
            try AuditRunner.trace(context, index: index, id: id, extract: extract, json: options.json)
        }
        throw ExitCode(exit.rawValue)
    }
}

struct Digests: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate CloudTrail log files with the trail's digest files, as `aws cloudtrail validate-logs` does, against what was fetched.",
        discussion: """
        For every kept digest (raw/digests/): its RSA signature (SHA256withRSA, with the public key of its \
        fingerprint from the stored cloudtrail ListPublicKeys answers), its link to the previous digest (hash \
        and signature), and every log file it names: the fetched copy's uncompressed SHA-256 must be the \
        digest's. Fetched log files that no digest names although digests cover their time are reported too. \
        Needs the cloudtrail section (cloudtrail.validate_digests on, so that fetch stores digests and keys).
        """
    )

    @OptionGroup var options: AuditOptions

    @Option(name: .long, help: ArgumentHelp("Only digests ending on or after this day or time (YYYY-MM-DD or an ISO 8601 time).", valueName: "date"))
    var since: String?

    func validate() throws {
        _ = try parseSince(since)
    }

    func run() throws {
        let since = try parseSince(since)
        let exit = AuditRunner.run(command: "digests", configPath: options.config, logger: options.logger) { context in
            try AuditRunner.digests(context, since: since, json: options.json)
        }
        throw ExitCode(exit.rawValue)
    }
}
