import Foundation
import Logging

/// One line of `cloudspool-fetch --check`: what was tried, on what, whether it
/// worked, and what to do when it did not.
public struct PreflightCheck: Sendable {
    public let check: String
    public let target: String
    public let ok: Bool
    public let detail: String
    public let fix: String

    public static func pass(_ check: String, _ target: String, _ detail: String = "ok") -> PreflightCheck {
        PreflightCheck(check: check, target: target, ok: true, detail: detail, fix: "")
    }

    public static func fail(_ check: String, _ target: String, _ detail: String, fix: String) -> PreflightCheck {
        PreflightCheck(check: check, target: target, ok: false, detail: detail, fix: fix)
    }

    /// Runs `body`; a thrown error becomes a failed check with `fix`.
    static func attempt(_ check: String, _ target: String, fix: String, _ body: () throws -> String) -> PreflightCheck {
        do {
            return .pass(check, target, try body())
        } catch {
            return .fail(check, target, StageRunner.describe(error), fix: fix)
        }
    }
}

/// `cloudspool-fetch --check`: without fetching any data, tries everything a
/// run needs (the spool, the AWS credentials and which source gave them, the
/// role in every account, one key of each configured bucket, what each
/// collector reaches, the index and whether templates and aliases can be
/// written) and prints a table saying what to fix. Exit 0 only when all works.
public enum Preflight {
    public static func run(configPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) -> StageExit {
        let config: CloudspoolConfig
        do {
            config = try CloudspoolConfig.load(path: CloudspoolConfig.resolvePath(option: configPath, environment: environment))
        } catch {
            FileHandle.standardError.write(Data("cloudspool-fetch: \(StageRunner.describe(error))\n".utf8))
            return .usage
        }
        let layout = SpoolLayout(root: config.spool)
        var checks: [PreflightCheck] = spoolChecks(config: config, layout: layout)
        let base = StageContext(stage: "check", config: config, layout: layout, environment: environment, clock: .system, logger: logger)
        let collectors = config.configuredCollectors
        if collectors.contains(where: { !$0.awsActions.isEmpty }) {
            do {
                let context = try base.withAWS()
                let aws = try context.requireAWS()
                checks.append(.attempt("AWS credentials", aws.credentials.name, fix: "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or aws.profile, or run on EC2 with an instance role") {
                    _ = try aws.credentials.require(now: Date())
                    let source = (aws.credentials as? CredentialProviderChain)?.chosenName ?? aws.credentials.name
                    return "from \(source)"
                })
                for collector in collectors {
                    checks += collector.check?(context) ?? []
                }
            } catch {
                checks.append(.fail("AWS credentials", "aws", StageRunner.describe(error), fix: "fix the aws section or ~/.aws/config"))
            }
        } else {
            for collector in collectors { checks += collector.check?(base) ?? [] }
        }
        checks += indexChecks(config: config, environment: environment, logger: logger)
        print(table(checks))
        let failed = checks.filter { !$0.ok }.count
        print("cloudspool-fetch: \(failed == 0 ? "ok" : "failed"): checks=\(checks.count) failed=\(failed)")
        return failed == 0 ? .success : .failure
    }

    static func spoolChecks(config: CloudspoolConfig, layout: SpoolLayout) -> [PreflightCheck] {
        var checks: [PreflightCheck] = []
        checks.append(.attempt("spool writable", layout.root.path, fix: "create the folder and give it to the user cron runs cloudspool as (make install does)") {
            try SpoolFiles.makeDirectory(layout.root)
            let probe = layout.root.appendingPathComponent(".tmp-\(getpid())-check")
            try SpoolFiles.writeAtomically(Data("check\n".utf8), to: probe)
            try SpoolFiles.remove(probe)
            return "ok"
        })
        checks.append(.attempt("spool links", layout.root.path, fix: "remove the symbolic links named (point spool: at the real folder)") {
            try SpoolLinks.refuse(in: layout)
            return "no symbolic link"
        })
        checks.append(.attempt("spool indices", layout.root.path, fix: "give each set of indices its own spool") {
            guard let settings = config.index, let recorded = try CheckpointStore<SpoolOwner>(layout: layout, name: "spool").load() else { return "not recorded yet" }
            let mine = SpoolOwner(settings: settings)
            guard recorded.indexPrefix == mine.indexPrefix && recorded.names == mine.names else {
                throw CloudspoolError(.configuration, "the spool belongs to other index names (first loaded to \(recorded.indexURL))")
            }
            return "same index names"
        })
        return checks
    }

    static func indexChecks(config: CloudspoolConfig, environment: [String: String], logger: Logger) -> [PreflightCheck] {
        guard let settings = config.index else { return [] }
        let fix = "check index.url, index.auth and the user's privileges (manage_index_templates, create_index, manage_aliases)"
        let client: IndexClient
        do {
            var credentials: (any CredentialProvider)?
            if settings.auth == .awsSigV4 { credentials = try AWSAccess(settings: config.aws, environment: environment, logger: logger).credentials }
            client = try IndexClient(settings: settings, environment: environment, awsCredentials: credentials, logger: logger)
        } catch {
            return [.fail("index", settings.url, StageRunner.describe(error), fix: fix)]
        }
        func expect(_ response: HTTPResponse, _ what: String) throws {
            guard (200..<300).contains(response.status) else {
                throw CloudspoolError(.index, "\(what): HTTP \(response.status) \(IndexClient.describe(response))")
            }
        }
        var checks: [PreflightCheck] = []
        let reached = PreflightCheck.attempt("index reachable", settings.url, fix: fix) {
            let response = try client.send(method: "GET", path: "/")
            try expect(response, "GET /")
            let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            let version = json?["version"] as? [String: Any]
            return "\(version?["distribution"] as? String ?? "elasticsearch") \(version?["number"] as? String ?? "?")"
        }
        checks.append(reached)
        guard reached.ok else { return checks }
        let probe = "\(settings.indexPrefix)cloudspool-preflight-\(UInt32.random(in: 0...UInt32.max))"
        checks.append(.attempt("index template", probe, fix: fix) {
            let body = Data(#"{"index_patterns":["\#(probe)-*"],"priority":1,"template":{"settings":{}}}"#.utf8)
            try expect(client.send(method: "PUT", path: "/_index_template/\(probe)", body: body), "PUT _index_template")
            try expect(client.send(method: "DELETE", path: "/_index_template/\(probe)"), "DELETE _index_template")
            return "written and removed"
        })
        checks.append(.attempt("index + alias", probe, fix: fix) {
            try expect(client.send(method: "PUT", path: "/\(probe)-1"), "PUT index")
            defer { _ = try? client.send(method: "DELETE", path: "/\(probe)-1") }
            let actions = Data(#"{"actions":[{"add":{"index":"\#(probe)-1","alias":"\#(probe)-alias"}}]}"#.utf8)
            try expect(client.send(method: "POST", path: "/_aliases", body: actions), "POST _aliases")
            return "index created, alias added, both removed"
        })
        return checks
    }

    static func table(_ checks: [PreflightCheck]) -> String {
        func clip(_ s: String, _ n: Int) -> String { s.count <= n ? s.padding(toLength: n, withPad: " ", startingAt: 0) : String(s.prefix(n - 1)) + "…" }
        var lines = ["check                  target                                    result  detail / what to fix"]
        for c in checks {
            let text = c.ok ? c.detail : "\(c.detail) -> \(c.fix)"
            lines.append("\(clip(c.check, 22)) \(clip(c.target, 41)) \(c.ok ? "ok    " : "FAILED") \(text)")
        }
        return lines.joined(separator: "\n")
    }
}
