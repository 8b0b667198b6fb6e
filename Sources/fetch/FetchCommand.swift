import ArgumentParser
import Shared

@main
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloudspool-fetch",
        abstract: "Store new CloudTrail log files from the trail bucket in the spool, byte for byte.",
        discussion: """
        Lists the trail bucket from where the last run stopped (state/fetch-cloudtrail.json), \
        downloads every new log file into raw/cloudtrail/<run-id>/ with a manifest (size and SHA-256 \
        of each file), and makes each run visible with one rename. AWS credentials come from the \
        standard chain (environment, AWS_PROFILE and ~/.aws/config, EC2 instance role); \
        AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3 override the endpoint.

        Exit codes: 0 done (or another copy is running), 1 failed (retried next run), \
        2 configuration error, 3 partial (see the errors printed).
        """,
        version: CloudspoolVersion.current
    )

    @OptionGroup var options: CommonOptions

    func run() throws {
        let logger = options.bootstrapLogging(label: "cloudspool.fetch")
        let exit = StageRunner.run(stage: "fetch", configPath: options.config, logger: logger, summaryOrder: Stages.fetchSummary) { context, report in
            try Stages.fetch(context, &report)
        }
        throw ExitCode(exit.rawValue)
    }
}
