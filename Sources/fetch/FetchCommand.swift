import ArgumentParser
import Shared

@main
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloudspool-fetch",
        abstract: "Store new CloudTrail log files and Cost & Usage Report revisions in the spool, byte for byte.",
        discussion: """
        CloudTrail: lists the trail bucket from where the last run stopped (state/fetch-cloudtrail.json), \
        downloads every new log file into raw/cloudtrail/<run-id>/ with a manifest (size and SHA-256 \
        of each file), and makes each run visible with one rename. Billing: reads the report manifest of \
        each billing period and stores a revision (assembly) not fetched before, with all its report files. AWS credentials come from the \
        standard chain (environment, AWS_PROFILE and ~/.aws/config, EC2 instance role); \
        AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 override the endpoint.

        Exit codes: 0 done (or another copy is running), 1 failed (retried next run), \
        2 configuration error, 3 partial (see the errors printed).
        """,
        version: CloudspoolVersion.current
    )

    @OptionGroup var options: CommonOptions

    static func main() {
        StageCommandMain.main(FetchCommand.self)
    }

    @Option(name: .long, help: ArgumentHelp("Fetch only this collector: cloudtrail or billing (repeatable). Default: every collector the config sets up.", valueName: "name"))
    var collector: [String] = []

    func validate() throws {
        for name in collector where !Stages.collectors.contains(name) {
            throw ValidationError("unknown collector '\(name)': choose from \(Stages.collectors.joined(separator: ", "))")
        }
    }

    func run() throws {
        let logger = options.bootstrapLogging(label: "cloudspool.fetch")
        let exit = StageRunner.run(stage: "fetch", configPath: options.config, statusOnly: options.status, logger: logger, summaryOrder: Stages.fetchSummary) { context, report in
            try Stages.fetch(context, collectors: collector, &report)
        }
        throw ExitCode(exit.rawValue)
    }
}
