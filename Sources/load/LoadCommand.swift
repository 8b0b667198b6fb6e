import ArgumentParser
import Shared

@main
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloudspool-load",
        abstract: "Bulk-index the NDJSON files transform wrote into Elasticsearch or OpenSearch.",
        discussion: """
        Installs the index templates, then sends every NDJSON file of every collector from the last acknowledged byte \
        (state/load.json) in _bulk requests of at most index.bulk_max_bytes. Throttling (429) and \
        server errors are retried with backoff, per request and per document; a document the index \
        rejects for good is written to deadletter/ with the index's reason. The checkpoint only \
        moves past acknowledged documents, so an interrupted run loses nothing and, since ids are \
        fixed, duplicates nothing. A billing revision is switched in by moving the period's alias \
        (awsbilling-YYYY.MM) to its index in one request once the index holds all its line items. \
        The stages' run reports are indexed into cloudspool-runs-YYYY.MM.

        Exit codes: 0 done (or another copy is running), 1 failed (the next run resends), \
        2 configuration error, 3 partial (documents dead-lettered or a file quarantined).
        """,
        version: CloudspoolVersion.current
    )

    @OptionGroup var options: CommonOptions

    static func main() {
        StageCommandMain.main(LoadCommand.self)
    }

    @Option(name: .long, help: ArgumentHelp("Send this NDJSON file (or every file of this folder) again from its start; checkpoints are not moved.", valueName: "path"))
    var replay: String?

    @Flag(name: .long, help: ArgumentHelp("Import the dashboards (index patterns, searches, visualizations, one dashboard per section) into Kibana / OpenSearch Dashboards / Energy Logserver with the index's credentials, then exit. Idempotent (overwrites).", discussion: "Exit 0 imported, 1 refused or unreachable (the answer is printed), 2 configuration error."))
    var installDashboards = false

    @Option(name: .long, help: ArgumentHelp("With --install-dashboards: the Dashboards URL (default: index.dashboards_url).", valueName: "url"))
    var dashboardsURL: String?

    @Option(name: .long, help: ArgumentHelp("With --install-dashboards: the Kibana space to import into (default: the default space).", valueName: "name"))
    var space: String?

    @Option(name: .long, help: ArgumentHelp("With --install-dashboards: the saved objects to import (default: share/cloudspool/cloudspool-dashboards.ndjson beside the binaries).", valueName: "path"))
    var dashboardsFile: String?

    func run() throws {
        let logger = options.bootstrapLogging(label: "cloudspool.load")
        if installDashboards {
            throw ExitCode(DashboardsCommand.run(configPath: options.config, url: dashboardsURL, space: space, file: dashboardsFile, logger: logger).rawValue)
        }
        let exit = StageRunner.run(stage: "load", configPath: options.config, statusOnly: options.status, logger: logger, summaryOrder: Stages.loadSummary) { context, report in
            try Stages.load(context, replay: replay, &report)
        }
        throw ExitCode(exit.rawValue)
    }
}
