import Foundation

extension DigestAudit.Report {
    /// The findings, as `verify` prints them.
    public var findings: [AuditFinding] {
        var out: [AuditFinding] = []
        for d in digests {
            for problem in d.problems {
                out.append(AuditFinding(.digest, collector: Collector.digests.name, runId: d.stored.runId, path: d.stored.key, detail: problem))
            }
            for log in d.logs where log.isProblem {
                out.append(AuditFinding(.log, collector: CloudTrailFetcher.collector, runId: log.runId, path: log.key, detail: "\(log.status.rawValue.uppercased()): \(log.detail)"))
            }
        }
        for log in undigested {
            out.append(AuditFinding(.log, collector: CloudTrailFetcher.collector, runId: log.runId, path: log.key, detail: "NO DIGEST: \(log.detail)"))
        }
        return out
    }

    func count(_ status: LogFileOutcome.Status) -> Int {
        digests.reduce(0) { $0 + $1.logs.filter { $0.status == status }.count } + undigested.filter { $0.status == status }.count
    }

    var summary: [(String, Int)] {
        [("digests", digests.count), ("invalid_digests", digests.filter { !$0.valid }.count), ("log_files", digests.reduce(0) { $0 + $1.logs.count }),
         ("valid", count(.valid)), ("altered", count(.altered)), ("missing", count(.missing)), ("no_digest", count(.noDigest)),
         ("not_kept", count(.notKept)), ("not_fetched", count(.notFetched)), ("pending", count(.pending)), ("public_keys", publicKeys)]
    }

    public func text(scope: String) -> String {
        var lines = ["cloudspool-audit digests: \(scope)", ""]
        if digests.isEmpty {
            lines.append("no digest to check")
        } else {
            var table = TextTable(["digest (end)", "account", "region", "chain", "log files", "result"])
            for d in digests {
                let parsed = CloudTrailKey(digestKey: d.stored.key)
                let valid = d.logs.filter { $0.status == .valid }.count
                let bad = d.logs.filter(\.isProblem).count
                let result = d.valid && bad == 0 ? "valid" : [d.valid ? nil : "INVALID", bad > 0 ? "\(bad) log file(s) not as delivered" : nil].compactMap { $0 }.joined(separator: ", ")
                table.add([UTCDate.iso8601(d.stored.endTime), parsed?.account ?? "-", parsed?.region ?? "-", d.chain, "\(valid)/\(d.logs.count) valid", result])
            }
            lines.append(table.text)
        }
        lines.append(contentsOf: CaptureVerifier.Report.findingLines(findings))
        if !notes.isEmpty {
            lines.append("")
            lines.append("notes:")
            lines.append(contentsOf: notes.map { "  " + $0 })
        }
        lines.append("")
        lines.append("cloudspool-audit: digests: \(intact ? "VALID" : "INVALID"): " + summary.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        return lines.joined(separator: "\n")
    }

    public func json(scope: String) -> String {
        func log(_ l: LogFileOutcome) -> JSONValue {
            .object([("s3_bucket", .string(l.bucket)), ("s3_key", .string(l.key)), ("status", .string(l.status.rawValue)),
                     ("run", l.runId.map(JSONValue.string) ?? .null), ("file", l.path.map(JSONValue.string) ?? .null),
                     ("expected_sha256", l.expectedSHA256.map(JSONValue.string) ?? .null), ("actual_sha256", l.actualSHA256.map(JSONValue.string) ?? .null),
                     ("detail", .string(l.detail))])
        }
        let digests: [JSONValue] = self.digests.map { d in
            .object([("s3_key", .string(d.stored.key)), ("run", .string(d.stored.runId)), ("file", .string(d.stored.path)),
                     ("end", .string(UTCDate.iso8601(d.stored.endTime))), ("chain", .string(d.chain)), ("status", .string(d.valid ? "valid" : "invalid")),
                     ("problems", .array(d.problems.map { .string($0) })), ("log_files", .array(d.logs.map(log)))])
        }
        return JSONValue.object([
            ("command", .string("digests")), ("scope", .string(scope)), ("intact", .bool(intact)),
            ("summary", .object(summary.map { ($0.0, .int(Int64($0.1))) })),
            ("digests", .array(digests)), ("undigested", .array(undigested.map(log))),
            ("findings", .array(findings.map(\.json))), ("notes", .array(notes.map { .string($0) })),
        ]).jsonText
    }
}
