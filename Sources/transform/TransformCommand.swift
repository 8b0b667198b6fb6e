import ArgumentParser
import Shared

@main
struct TransformCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloudspool-transform",
        abstract: "Turn fetched raw runs into NDJSON bulk files: one document per CloudTrail event, line item, resource, user or object.",
        discussion: """
        Reads every raw run fetch finished and transform has not (state/transform.json) and writes \
        ndjson/<collector>/<run-id>.<NNNN>.ndjson: an action line (target index and document id) and \
        a document per item. CloudTrail events go to awscli-trail-YYYY.MM.DD of their own UTC day \
        (id = eventID); billing line items to the revision's own index; inventory resources to \
        awscli-YYYY.MM.DD as the AWS CLI prints them; IAM users to awsusers-000001; S3 objects to \
        awscli-s3-YYYY.MM.DD. A corrupt file is moved to quarantine/transform/ with a .reason file, \
        a bad record goes to a .rejected.ndjson beside it, and the rest goes on.

        Exit codes: 0 done (or another copy is running), 1 failed, 2 configuration error, \
        3 partial (something was quarantined).
        """,
        version: CloudspoolVersion.current
    )

    @OptionGroup var options: CommonOptions

    static func main() {
        StageCommandMain.main(TransformCommand.self)
    }

    @Option(name: .long, help: ArgumentHelp("Transform this raw run folder or log file again, whatever the checkpoint says; the output gets new file names and the same document ids.", valueName: "path"))
    var replay: String?

    func run() throws {
        let logger = options.bootstrapLogging(label: "cloudspool.transform")
        let exit = StageRunner.run(stage: "transform", configPath: options.config, statusOnly: options.status, logger: logger, summaryOrder: Stages.transformSummary) { context, report in
            try Stages.transform(context, replay: replay, &report)
        }
        throw ExitCode(exit.rawValue)
    }
}
