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

        public init(output: String, exit: AuditExit) {
            self.output = output
            self.exit = exit
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
            print(outcome.output)
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

    /// A date given on the command line: `2026-11-28` or `2026-11-28T10:15:00Z`.
    public static func parseDate(_ text: String) -> Date? {
        UTCDate.parseDay(text) ?? UTCDate.parseISO8601(text)
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
