import Foundation
import Logging

/// `cloudspool-load --install-dashboards`: reads the config (for the index's
/// credentials and `index.dashboards_url`), imports the saved objects and prints one line.
public enum DashboardsCommand {
    public static func run(configPath: String?, url: String?, space: String?, file: String?,
                           environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) -> StageExit {
        let program = "cloudspool-load"
        do {
            let config = try CloudspoolConfig.load(path: CloudspoolConfig.resolvePath(option: configPath, environment: environment))
            let settings = try config.requireIndex()
            guard let target = url ?? settings.dashboardsURL else {
                throw CloudspoolError(.configuration, "\(config.file): say where the dashboards are: --dashboards-url URL or index.dashboards_url")
            }
            let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            guard let source = file.map({ URL(fileURLWithPath: $0) }) ?? DashboardInstaller.defaultFile(executable: executable) else {
                throw CloudspoolError(.configuration, "cannot find cloudspool-dashboards.ndjson (installed in <prefix>/share/cloudspool/ by make install); pass --dashboards-file PATH")
            }
            if !settings.indexPrefix.isEmpty && file == nil {
                throw CloudspoolError(.configuration, "\(config.file): index.index_prefix is '\(settings.indexPrefix)': generate matching saved objects with "
                                      + "python3 dashboards/generate.py --index-prefix \(settings.indexPrefix) --out FILE, then pass --dashboards-file FILE")
            }
            var credentials: (any CredentialProvider)?
            if settings.auth == .awsSigV4 {
                credentials = try AWSAccess(settings: config.aws, environment: environment, logger: logger).credentials
            }
            let client = try IndexClient(settings: settings, environment: environment, awsCredentials: credentials, logger: logger)
            let outcome = try DashboardInstaller(client: client, url: target, space: space, logger: logger).install(file: source)
            print("\(program): ok: dashboards imported=\(outcome.imported) objects=\(outcome.objects) space=\(space ?? "default") url=\(target)")
            return .success
        } catch let error as CloudspoolError {
            FileHandle.standardError.write(Data("\(program): \(error.description)\n".utf8))
            return error.exit
        } catch {
            FileHandle.standardError.write(Data("\(program): \(StageRunner.describe(error))\n".utf8))
            return .failure
        }
    }
}
