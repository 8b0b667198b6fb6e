import Foundation
import Testing
@testable import Shared

@Suite struct ConfigTests {
    let today = UTCDate.parseDay("2026-11-28")!

    @Test func minimalConfigGetsDefaults() throws {
        let config = try CloudspoolConfig.parse(yaml: "spool: /var/spool/cloudspool\ncloudtrail:\n  bucket: trail\nindex:\n  url: http://127.0.0.1:9200/\n", file: "c.yaml", today: today)
        #expect(config.spool == "/var/spool/cloudspool")
        #expect(config.aws.region == "us-east-1")
        #expect(config.aws.tlsVerify)
        let trail = try config.requireCloudTrail()
        #expect(trail.prefix == "")
        #expect(UTCDate.day(trail.startDate) == "2026-11-21")
        #expect(trail.overlapMinutes == 60)
        let index = try config.requireIndex()
        #expect(index.url == "http://127.0.0.1:9200")
        #expect(index.names.cloudtrail == "awscli-trail")
        #expect(index.bulkMaxBytes == 5 << 20)
        #expect(config.retention.rawDays == 30)
        #expect(config.transform.ndjson.writeBehindBytes == 8 << 20)
        #expect(config.transform.ndjson.maxFileBytes == 64 << 20)
        let off = try CloudspoolConfig.parse(yaml: "spool: /s\ntransform: {write_behind_bytes: 0}\n", file: "c.yaml", today: today)
        #expect(off.transform.ndjson.writeBehindBytes == 0)
    }

    @Test func theExampleConfigIsValid() throws {
        let url = fixturesURL.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("cloudspool.example.yaml")
        let config = try CloudspoolConfig.load(path: url.path, today: today)
        #expect(try config.requireCloudTrail().bucket == "cloudtraillogs")
        #expect(try config.requireIndex().auth == .basic)
    }

    @Test func prefixIsNormalised() throws {
        let config = try CloudspoolConfig.parse(yaml: "spool: /s\ncloudtrail: {bucket: b, prefix: /logs/x}\n", file: "c.yaml", today: today)
        #expect(try config.requireCloudTrail().prefix == "logs/x/")
    }

    @Test(arguments: [
        ("spool: /s\nawz: {}\n", "c.yaml: unknown key 'awz' (known keys here: aws, billing, cloudtrail, iam, index, inventory, monitoring, retention, s3, spool, transform)"),
        ("spool: /s\naws: {regoin: x}\n", "c.yaml: unknown key 'aws.regoin' (known keys here: ca_bundle, max_retries, profile, region, s3_addressing, timeout_seconds, tls_verify)"),
        ("spool: /s\naws: {max_retries: many}\n", "c.yaml: key 'aws.max_retries' must be a whole number, not 'many'"),
        ("spool: /s\naws: {tls_verify: maybe}\n", "c.yaml: key 'aws.tls_verify' must be true or false, not 'maybe'"),
        ("aws: {}\n", "c.yaml: key 'spool' is required: the folder where the stages hand off work (e.g. /var/spool/cloudspool)"),
        ("spool: /s\ncloudtrail: {bucket: b, start_date: 2026-13-01}\n", "c.yaml: key 'cloudtrail.start_date' must be a date like 2026-11-01, not '2026-13-01'"),
        ("spool: /s\ncloudtrail: {bucket: b, accounts: [12345]}\n", "c.yaml: key 'cloudtrail.accounts' must list 12-digit AWS account ids, not '12345'"),
        ("spool: /s\nindex: {url: localhost:9200}\n", "c.yaml: key 'index.url' is required and must start with http:// or https:// (e.g. https://127.0.0.1:9200)"),
        ("spool: /s\nindex: {url: 'http://x', auth: basic, username: u}\n", "c.yaml: key 'index.password_file' or password_env is required with auth: basic (never put the password itself in the config)"),
        ("spool: /s\nindex: {url: 'http://x', auth: magic}\n", "c.yaml: key 'index.auth' must be one of none, basic, api_key, aws_sigv4, not 'magic'"),
        ("spool: /s\nindex: {url: 'http://x', bulk_max_bytes: 10}\n", "c.yaml: key 'index.bulk_max_bytes' must be between 1024 and 1073741824, not 10"),
        ("spool: /s\ntransform: {write_behind_bytes: -1}\n", "c.yaml: key 'transform.write_behind_bytes' must be between 0 and 17179869184, not -1"),
        ("spool: [a\n", "c.yaml: not valid YAML"),
        ("- a\n- b\n", "c.yaml: the document must be a mapping of keys to values"),
    ])
    func errorsNameTheFileAndKey(yaml: String, message: String) {
        let error = #expect(throws: CloudspoolError.self) { try CloudspoolConfig.parse(yaml: yaml, file: "c.yaml", today: today) }
        #expect(error?.code == .configuration)
        #expect(error?.message.hasPrefix(message) == true, "got: \(error?.message ?? "")")
    }

    @Test func missingFileSaysWhatToDo() {
        let error = #expect(throws: CloudspoolError.self) { try CloudspoolConfig.load(path: "/nonexistent/cloudspool.yaml") }
        #expect(error?.message.hasPrefix("cannot read config file /nonexistent/cloudspool.yaml") == true)
        #expect(error?.message.hasSuffix("pass --config PATH or set CLOUDSPOOL_CONFIG") == true)
    }

    @Test func pathResolutionOrder() {
        #expect(CloudspoolConfig.resolvePath(option: "/a.yaml", environment: ["CLOUDSPOOL_CONFIG": "/b.yaml"]) == "/a.yaml")
        #expect(CloudspoolConfig.resolvePath(option: nil, environment: ["CLOUDSPOOL_CONFIG": "/b.yaml"]) == "/b.yaml")
        #expect(CloudspoolConfig.resolvePath(option: nil, environment: [:]) == "/etc/cloudspool/cloudspool.yaml")
    }
}
