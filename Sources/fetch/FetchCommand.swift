import ArgumentParser
import Shared

@main
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloudspool-fetch",
        abstract: "Store what AWS answers in the spool, byte for byte: CloudTrail log files, Cost & Usage Reports, the inventory, IAM users, S3 listings.",
        discussion: """
        Each configured collector writes raw runs under raw/<collector>/<run-id>/ with a manifest \
        (size and SHA-256 of every stored file), made visible with one rename:
          cloudtrail  new log files of the trail bucket (from where it stopped)
          billing     each new Cost & Usage Report revision, with all its files
          inventory   every account x region: EC2, RDS, CloudWatch, Backup, events
          iam         credential report, users and groups of every account
          s3          every ListObjectsV2 page of the configured buckets
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

    @Option(name: .long, help: ArgumentHelp("Fetch only this collector: cloudtrail, billing, inventory, iam or s3 (repeatable). Default: every collector the config sets up.", valueName: "name"))
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
