import Foundation

/// The `--check` probes collectors share: a bucket's first key read back, and the role in every account.
enum CollectorChecks {
    /// Lists `prefix` of `bucket` and reads the first key whose name `readable` accepts.
    static func bucket(_ context: StageContext, check: String, bucket: String, region: String?, prefix: String,
                       readable: @escaping (String) -> Bool = { _ in true }) -> PreflightCheck {
        PreflightCheck.attempt(check, "s3://\(bucket)/\(prefix)", fix: "check the bucket name, prefix and region, and that the policy grants s3:ListBucket and s3:GetObject on it") {
            let s3 = try context.requireAWS().s3(bucket: bucket, region: region)
            let page = try s3.listObjects(prefix: prefix)
            guard let first = page.objects.first(where: { readable($0.key) }) ?? page.objects.first else {
                throw CloudspoolError(.configuration, "no object under this prefix")
            }
            guard readable(first.key) else { return "listed \(page.objects.count) key(s)" }
            let data = try s3.getObjectData(key: first.key)
            return "listed, read \(first.key.split(separator: "/").last ?? "") (\(data.count) bytes)"
        }
    }

    /// Enters every account of the inventory through its role.
    static func accounts(_ context: StageContext) -> [PreflightCheck] {
        guard let settings = context.config.inventory else { return [] }
        do {
            let access = OrganizationAccess(settings: settings, access: try context.requireAWS(), environment: context.environment,
                                            clock: context.clock, logger: context.logger)
            let (caller, accounts) = try access.preflight()
            var checks: [PreflightCheck] = [.pass("caller account", caller ?? "?", "the base credentials' own account (no role needed)")]
            for (account, problem) in accounts where account.id != caller {
                let target = "\(account.id)\(account.name.map { " (\($0))" } ?? "")"
                if let problem {
                    checks.append(.fail("role \(settings.roleName)", target, problem,
                                        fix: "deploy the role (deploy/cloudspool-member-role.json) and trust the collector's principal"))
                } else {
                    checks.append(.pass("role \(settings.roleName)", target, "assumed"))
                }
            }
            return checks
        } catch {
            return [.fail("accounts", "inventory", StageRunner.describe(error), fix: "check inventory.accounts_file, accounts, organizations, profiles")]
        }
    }
}
