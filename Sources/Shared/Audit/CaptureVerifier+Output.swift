import Foundation

extension CaptureVerifier.Report {
    /// The table a person reads: one line per run, then every finding, then the notes and a verdict line.
    public func text(scope: String) -> String {
        var lines = ["cloudspool-audit verify: \(scope)", ""]
        if runs.isEmpty {
            lines.append("no raw run to verify")
        } else {
            var table = TextTable(["collector", "run", "where", "files", "bytes", "chain", "result"])
            for run in runs {
                let files = run.quarantinedFiles > 0 ? "\(run.files) (\(run.quarantinedFiles) in quarantine)" : "\(run.files)"
                table.add([run.collector, run.runId, run.location, files, ByteCount.text(run.bytes), run.chain,
                           run.problems == 0 ? "intact" : "\(run.problems) problem(s)"])
            }
            lines.append(table.text)
        }
        lines.append(contentsOf: Self.findingLines(findings))
        if !notes.isEmpty {
            lines.append("")
            lines.append("notes:")
            lines.append(contentsOf: notes.map { "  " + $0 })
        }
        lines.append("")
        lines.append("cloudspool-audit: verify: \(intact ? "INTACT" : "MISMATCH"): runs=\(runs.count) files=\(files) bytes=\(bytes) pruned_runs=\(prunedRuns) problems=\(findings.count)")
        return lines.joined(separator: "\n")
    }

    static func findingLines(_ findings: [AuditFinding]) -> [String] {
        guard !findings.isEmpty else { return [] }
        var lines = ["", "problems:"]
        var table = TextTable(["kind", "collector", "run", "where", "what"])
        for f in findings {
            table.add([f.kind.rawValue.uppercased(), f.collector, f.runId ?? "-", f.path ?? "-", f.detail])
        }
        lines.append(contentsOf: table.text.split(separator: "\n").map { "  " + $0 })
        return lines
    }

    /// The same as JSON, for programs.
    public func json(scope: String) -> String {
        let runs: [JSONValue] = self.runs.map { run in
            .object([("collector", .string(run.collector)), ("run", .string(run.runId)), ("location", .string(run.location)),
                     ("files", .int(Int64(run.files))), ("quarantined_files", .int(Int64(run.quarantinedFiles))), ("bytes", .int(run.bytes)),
                     ("manifest_sha256", .string(run.manifestSHA256)), ("chain", .string(run.chain)),
                     ("status", .string(run.problems == 0 ? "intact" : "mismatch")), ("problems", .int(Int64(run.problems)))])
        }
        let value: JSONValue = .object([
            ("command", .string("verify")), ("scope", .string(scope)), ("intact", .bool(intact)),
            ("summary", .object([("runs", .int(Int64(self.runs.count))), ("files", .int(Int64(files))), ("bytes", .int(bytes)),
                                 ("pruned_runs", .int(Int64(prunedRuns))), ("problems", .int(Int64(findings.count)))])),
            ("runs", .array(runs)), ("findings", .array(findings.map(\.json))), ("notes", .array(notes.map { .string($0) })),
        ])
        return value.jsonText
    }
}
