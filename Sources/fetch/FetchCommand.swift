import ArgumentParser
import Shared

@main
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloudspool-fetch",
        abstract: "Store what AWS (and the monitoring systems) answer in the spool, byte for byte: CloudTrail log files, Cost & Usage Reports, the inventory, IAM users, S3 listings, monitored hosts.",
        discussion: """
        Each configured collector writes raw runs under raw/<collector>/<run-id>/ with a manifest \
        (size and SHA-256 of every stored file), made visible with one rename:
        \(CollectorCatalog.helpLines)
        AWS credentials come from the standard chain (environment, AWS_PROFILE and ~/.aws/config, \
        EC2 instance role); AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> override endpoints.

        Exit codes: 0 done (or another copy is running), 1 failed (retried next run), \
        2 configuration error, 3 partial (see the errors printed).
        """,
        version: CloudspoolVersion.current
    )

    @OptionGroup var options: CommonOptions

    static func main() {
        StageCommandMain.main(FetchCommand.self)
    }

    @Option(name: .long, help: ArgumentHelp("Fetch only this collector: \(Collectors.names.joined(separator: ", ")) (repeatable). Default: every collector the config sets up.", valueName: "name"))
    var collector: [String] = []

    @Flag(name: .long, help: "Print every collector (its config section, index templates and the IAM actions its fetch calls) and exit; reads no config.")
    var listCollectors = false

    @Flag(name: .long, help: "With --list-collectors: print JSON instead of a table.")
    var json = false

    @Flag(name: .long, help: ArgumentHelp("Check, without fetching data, that everything a run needs works: the spool, which AWS credentials are used, the role in every account, one key of each configured bucket, the index (version, templates, aliases); print a table with what to fix and exit (0 only when everything works)."))
    var check = false

    func validate() throws {
        for name in collector where Collectors.named(name) == nil {
            throw ValidationError("unknown collector '\(name)': choose from \(Collectors.names.joined(separator: ", "))")
        }
    }

    func run() throws {
        if listCollectors {
            print(json ? CollectorCatalog.json() : CollectorCatalog.table())
            return
        }
        if check {
            let logger = options.bootstrapLogging(label: "cloudspool.check")
            throw ExitCode(Preflight.run(configPath: options.config, logger: logger).rawValue)
        }
        let logger = options.bootstrapLogging(label: "cloudspool.fetch")
        let exit = StageRunner.run(stage: "fetch", configPath: options.config, statusOnly: options.status, logger: logger, summaryOrder: Stages.fetchSummary) { context, report in
            try Stages.fetch(context, collectors: collector, &report)
        }
        throw ExitCode(exit.rawValue)
    }
}
