import ArgumentParser
import Foundation
import Logging

/// The options every stage takes.
public struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The config file.", discussion: "Default: $CLOUDSPOOL_CONFIG, else /etc/cloudspool/cloudspool.yaml.", valueName: "path"))
    public var config: String?

    @Option(name: .long, help: ArgumentHelp("How much to log on stderr: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    public var logLevel: String = "info"

    @Flag(name: .long, help: "Print what is waiting in the spool (backlog per collector, quarantine, dead letters, last runs) and exit, doing no work.")
    public var status = false

    public init() {}

    public func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    /// Sets up logging to stderr once, for the executable.
    public func bootstrapLogging(label: String) -> Logger {
        Self.bootstrapLogging(label: label, level: Logger.Level(rawValue: logLevel) ?? .info)
    }

    /// Sets up logging to stderr once, for an executable, at `level`.
    public static func bootstrapLogging(label: String, level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// Runs a stage command so that its exit codes are the operator contract's:
/// a usage error (unknown option, bad value) exits 2, like a configuration
/// error, instead of ArgumentParser's 64; `--help` and `--version` exit 0.
public enum StageCommandMain {
    public static func main<Command: ParsableCommand>(_ type: Command.Type) -> Never {
        do {
            var command = try type.parseAsRoot()
            try command.run()
            type.exit()
        } catch {
            if type.exitCode(for: error) == .validationFailure {
                let message = type.fullMessage(for: error)
                FileHandle.standardError.write(Data((message + "\n").utf8))
                Foundation.exit(StageExit.usage.rawValue)
            }
            type.exit(withError: error)
        }
    }
}
