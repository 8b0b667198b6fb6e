import Foundation

extension ProvenanceLookup.Trace {
    /// What a person reads: the document, its raw run, file, manifest entry, verification and record.
    public var text: String {
        var table = TextTable(["", ""])
        table.add(["document", "\(document.index) / \(document.id)"])
        table.add(["collector", collector ?? "-"])
        table.add(["raw run", run.map { $0 == "pruned" ? "\(runId ?? "?") (removed by retention)" : $0 } ?? (runId.map { "\($0) (not found)" } ?? "-")])
        if let s3Key { table.add(["S3 key", s3Key]) }
        table.add(["file", rawFile ?? "-"])
        for file in files {
            let e = file.entry
            var manifest = "\(e.service) \(e.operation) HTTP \(e.httpStatus) at \(e.requestedAt), size \(e.size), SHA-256 \(e.sha256)"
            if let account = e.account { manifest += ", account \(account)" }
            if let region = e.region { manifest += ", region \(region)" }
            table.add(["manifest", "\(e.path): \(manifest)"])
            table.add(["verified", "\(file.status): \(file.detail)\(file.location.map { " (\($0))" } ?? "")"])
        }
        if run != nil && run != "pruned" {
            table.add(["chain", findings.contains { $0.kind == .chain } ? "BROKEN (see below)" : "the run's link in its collector's chain is intact"])
        }
        var note = recordNote
        if let matchesRecord { note += matchesRecord ? "; the document holds it unchanged" : "; the document DIFFERS from it" }
        table.add(["record", note])
        var lines = ["cloudspool-audit trace: \(document.index)/\(document.id)", ""]
        lines.append(contentsOf: table.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().map(String.init))
        lines.append(contentsOf: CaptureVerifier.Report.findingLines(findings))
        lines.append("")
        lines.append("cloudspool-audit: trace: \(intact ? "INTACT" : "NOT VERIFIED"): \(document.index)/\(document.id)")
        return lines.joined(separator: "\n")
    }

    public var json: String {
        let files: [JSONValue] = files.map { f in
            .object([("path", .string(f.entry.path)), ("location", f.location.map(JSONValue.string) ?? .null), ("status", .string(f.status)),
                     ("detail", .string(f.detail)),
                     ("manifest_entry", .object([("service", .string(f.entry.service)), ("operation", .string(f.entry.operation)),
                                                 ("account", f.entry.account.map(JSONValue.string) ?? .null), ("region", f.entry.region.map(JSONValue.string) ?? .null),
                                                 ("parameters", .object(f.entry.parameters.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                                                 ("requestedAt", .string(f.entry.requestedAt)), ("httpStatus", .int(Int64(f.entry.httpStatus))),
                                                 ("size", .int(f.entry.size)), ("sha256", .string(f.entry.sha256))]))])
        }
        let value: JSONValue = .object([
            ("command", .string("trace")), ("intact", .bool(intact)),
            ("document", .object([("index", .string(document.index)), ("id", .string(document.id))])),
            ("collector", collector.map(JSONValue.string) ?? .null), ("run_id", runId.map(JSONValue.string) ?? .null),
            ("run", run.map(JSONValue.string) ?? .null), ("raw_file", rawFile.map(JSONValue.string) ?? .null),
            ("s3_key", s3Key.map(JSONValue.string) ?? .null), ("files", .array(files)), ("findings", .array(findings.map(\.json))),
            ("record_note", .string(recordNote)), ("matches_record", matchesRecord.map(JSONValue.bool) ?? .null),
            ("record", record.map { .string(String(decoding: $0, as: UTF8.self)) } ?? .null),
        ])
        return value.jsonText
    }
}
