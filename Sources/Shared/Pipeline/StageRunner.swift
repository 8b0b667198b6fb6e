import Foundation
import Logging

/// What a stage's work, and every collector in it, gets from the runner: the
/// checked configuration, the spool, the index names, the environment, the
/// clock, a logger and, for stages that call AWS, the way to reach it.
public struct StageContext: Sendable {
    public let stage: String
    public let config: CloudspoolConfig
    public let layout: SpoolLayout
    public let naming: IndexNaming
    public let environment: [String: String]
    public let clock: RuntimeClock
    public let logger: Logger
    /// Credentials, endpoints and HTTP settings for AWS; set by stages that call AWS.
    public private(set) var aws: AWSAccess?

    public init(stage: String, config: CloudspoolConfig, layout: SpoolLayout, environment: [String: String], clock: RuntimeClock, logger: Logger) {
        self.stage = stage
        self.config = config
        self.layout = layout
        self.naming = IndexNaming(config: config)
        self.environment = environment
        self.clock = clock
        self.logger = logger
    }

    /// The same context with AWS access built from the config and the environment.
    public func withAWS() throws -> StageContext {
        var context = self
        context.aws = try AWSAccess(settings: config.aws, environment: environment, clock: clock, logger: logger)
        return context
    }

    /// AWS access, which only stages that call AWS have.
    public func requireAWS() throws -> AWSAccess {
        guard let aws else { throw CloudspoolError(.configuration, "the \(stage) stage does not call AWS") }
        return aws
    }

    /// How transform cuts and writes its NDJSON files.
    public var ndjson: NDJSONOutput.Settings { config.transform.ndjson }
}

/// Runs one stage the way every stage runs: load and check the config, take
/// the stage's lock (or exit 0 if another copy holds it), clear what a killed
/// run left in `.incoming/`, do the work, write the run report, print a
/// one-line summary and return the exit code.
public enum StageRunner {
    public static func run(stage: String, configPath: String?, statusOnly: Bool = false, environment: [String: String] = ProcessInfo.processInfo.environment,
                           clock: RuntimeClock = .system, logger: Logger, summaryOrder: [String],
                           work: (StageContext, inout RunReport) throws -> Void) -> StageExit {
        umask(0o027)
        StopRequest.installHandlers()
        let program = "cloudspool-\(stage)"
        let path = CloudspoolConfig.resolvePath(option: configPath, environment: environment)
        let config: CloudspoolConfig
        do {
            config = try CloudspoolConfig.load(path: path, today: clock.now())
        } catch {
            printError("\(program): \(describe(error))")
            return .usage
        }
        let layout = SpoolLayout(root: config.spool)
        if statusOnly {
            print(SpoolStatus.read(layout: layout).text)
            return .success
        }
        do {
            try SpoolLinks.refuse(in: layout)
        } catch {
            printError("\(program): \(describe(error))")
            return .usage
        }
        let lock: StageLock
        do {
            try SpoolFiles.makeDirectory(layout.root)
            guard let acquired = try StageLock.acquire(stage: stage, layout: layout) else {
                let holder = StageLock.holder(stage: stage, layout: layout).map { " (pid \($0))" } ?? ""
                print("\(program): another \(program) is running\(holder); this run exits without doing anything")
                return .success
            }
            lock = acquired
            do {
                try SpoolOwner.check(config: config, layout: layout)
            } catch let error as CloudspoolError where error.exit == .usage {
                printError("\(program): \(describe(error))")
                return .usage
            }
            try SpoolFiles.remove(layout.incoming(stage))
            removeTemporaries(stage: stage, layout: layout)
        } catch {
            printError("\(program): \(describe(error))")
            return .failure
        }
        let started = clock.now()
        var report = RunReport(stage: stage, runId: RunID(date: started).value, startedAt: started)
        let context = StageContext(stage: stage, config: config, layout: layout, environment: environment, clock: clock, logger: logger)
        var exit = StageExit.success
        do {
            try work(context, &report)
            if report.incomplete { exit = .failure } else if !report.errors.isEmpty { exit = .partial }
        } catch {
            report.errors.append(describe(error))
            exit = (error as? CloudspoolError)?.exit ?? .failure
        }
        report.finishedAt = UTCDate.iso8601(clock.now())
        report.seconds = clock.now().timeIntervalSince(started)
        report.exitCode = exit.rawValue
        do {
            try report.save(layout: layout)
        } catch {
            printError("\(program): could not write the run report: \(describe(error))")
        }
        for error in report.errors {
            printError("\(program): error: \(error)")
        }
        let verdict: String
        switch exit {
        case .success: verdict = "ok"
        case .partial: verdict = "partial"
        case .terminated: verdict = "stopped"
        default: verdict = "failed"
        }
        print("\(program): \(verdict): \(report.summaryLine(order: summaryOrder))")
        withExtendedLifetime(lock) {}
        return exit
    }

    /// Removes the temporary files a killed run of `stage` left behind
    /// (only its own: other stages may be writing theirs right now).
    static func removeTemporaries(stage: String, layout: SpoolLayout) {
        let ownCheckpoint: (String) -> Bool = { name in
            switch stage {
            case "fetch": return name.hasPrefix("fetch-") || name.hasPrefix("audit-chain-")
            case "transform": return name == "transform.json" || name.hasPrefix("audit-pruned-") || name == "audit-digests.json"
            default: return name.hasPrefix(stage)
            }
        }
        var folders: [(URL, (String) -> Bool)] = [(layout.state, ownCheckpoint), (layout.runs(stage), { _ in true })]
        if stage == "fetch" {
            // queue messages put aside (quarantine/fetch/sqs-<id>.json) are written under .tmp- names first
            folders.append((layout.quarantine(stage), { _ in true }))
        }
        if stage == "transform" {
            for collector in Collectors.all { folders.append((layout.ndjson(collector.name), { _ in true })) }
        }
        if stage == "transform", let walker = FileManager.default.enumerator(atPath: layout.quarantine(stage).path) {
            // rejected-record files are streamed under .tmp- names inside quarantine/transform/
            for case let path as String in walker where (path as NSString).lastPathComponent.hasPrefix(".tmp-") {
                try? FileManager.default.removeItem(at: layout.quarantine(stage).appendingPathComponent(path))
            }
        }
        for (folder, owned) in folders {
            for name in SpoolFiles.temporaries(folder) {
                // .tmp-<pid>-<random>-<final name>
                let parts = name.split(separator: "-", maxSplits: 3)
                if parts.count == 4, owned(String(parts[3])) {
                    try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
                }
            }
        }
    }

    /// An error in words, without type names around it.
    public static func describe(_ error: Error) -> String {
        switch error {
        case let e as CloudspoolError: return e.description
        case let e as AWSServiceError: return e.description
        case let e as HTTPClientError: return e.description
        default: return "\(error)"
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
