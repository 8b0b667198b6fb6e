import Foundation

/// Answers "where did this document come from?": from a document's
/// provenance (`cloudspool.run_id`, `cloudspool.raw_file`, for CloudTrail
/// `cloudspool.log_file`) to its raw run, the file, the file's manifest
/// entry, whether the file and the run's chain link are intact, and the
/// exact raw record.
public struct ProvenanceLookup: Sendable {
    public let layout: SpoolLayout

    public init(layout: SpoolLayout) {
        self.layout = layout
    }

    /// A document as the index returned it.
    public struct Document: Sendable {
        public var index: String
        public var id: String
        public var source: JSONValue

        public init(index: String, id: String, source: JSONValue) {
            self.index = index
            self.id = id
            self.source = source
        }
    }

    /// One file the document comes from, as verified.
    public struct File: Sendable {
        public var entry: RawRunManifest.Entry
        /// Where the file is, relative to the spool (in the run, or in quarantine).
        public var location: String?
        /// `intact`, `altered`, `missing`, `pruned`.
        public var status: String
        public var detail: String
    }

    /// Everything found about one document.
    public struct Trace: Sendable {
        public var document: Document
        public var collector: String?
        public var runId: String?
        /// `raw/<collector>/<run>`, `quarantine/transform/<run>`, or `pruned` (removed by retention).
        public var run: String?
        public var rawFile: String?
        public var s3Key: String?
        public var files: [File] = []
        /// Findings of the run's chain link (and of the run, when it is gone).
        public var findings: [AuditFinding] = []
        /// The exact bytes of the raw record (a CloudTrail record, a CSV row) or of the raw answer it is in.
        public var record: [UInt8]?
        /// What `record` is, or why there is none.
        public var recordNote = ""
        /// Whether the document holds the raw record unchanged (CloudTrail: every member of the record is in the document, equal).
        public var matchesRecord: Bool?

        public var intact: Bool {
            run != nil && run != "pruned" && !files.isEmpty && files.allSatisfy { $0.status == "intact" } && findings.isEmpty && matchesRecord != false
        }
    }

    public func trace(_ document: Document) -> Trace {
        var trace = Trace(document: document)
        let cloudspool = document.source["cloudspool"]
        trace.runId = cloudspool?["run_id"]?.stringValue
        trace.rawFile = cloudspool?["raw_file"]?.stringValue
        trace.s3Key = cloudspool?["log_file"]?.stringValue ?? cloudspool?["report_file"]?.stringValue
        if trace.runId == nil, let key = trace.s3Key {
            // Documents indexed before they carried their run: the newest kept run holding that S3 key.
            if let found = findRun(holdingKey: key) {
                trace.runId = found.runId
                trace.rawFile = found.path
            }
        }
        guard let runId = trace.runId else {
            trace.recordNote = "the document carries no provenance (cloudspool.run_id): it was not written by cloudspool, or before it recorded provenance"
            return trace
        }
        guard let (collector, folder, location) = locateRun(runId) else {
            if let (collector, pruned) = prunedRecord(runId) {
                trace.collector = collector
                trace.run = "pruned"
                trace.recordNote = "raw run \(runId) was removed by retention at \(pruned.prunedAt) (its manifest's SHA-256 was \(pruned.manifestSHA256)); its files are gone"
                if let rawFile = trace.rawFile, let entry = pruned.quarantined?.first(where: { $0.path == rawFile }) {
                    trace.recordNote += "; the file is kept in quarantine (size \(entry.size), SHA-256 \(entry.sha256))"
                }
            } else {
                trace.findings.append(AuditFinding(.missing, collector: "?", runId: runId, path: nil,
                                                   detail: "raw run \(runId) is not in the spool: not in raw/, not in quarantine, not recorded as pruned (deleted?)"))
                trace.recordNote = "the raw run is gone"
            }
            return trace
        }
        trace.collector = collector
        trace.run = location
        let manifest: RawRunManifest
        do {
            manifest = try RawRunManifest.read(runFolder: folder)
        } catch {
            trace.findings.append(AuditFinding(.manifest, collector: collector, runId: runId, path: location + "/manifest.json", detail: StageRunner.describe(error)))
            return trace
        }
        // The run's link in its collector's chain (manifests only; the run's own files are checked below).
        let chain = CaptureVerifier(layout: layout, collector: collector, checkFiles: false).verify()
        trace.findings += chain.findings.filter { $0.runId == runId || $0.detail.contains(runId) }
        // The file(s): one file, or for an inventory document the folder of its account and region's answers.
        let rawFile = trace.rawFile ?? ""
        let entries = manifest.entries.filter { rawFile.hasSuffix("/") ? $0.path.hasPrefix(rawFile) : $0.path == rawFile }
        if entries.isEmpty {
            trace.findings.append(AuditFinding(.missing, collector: collector, runId: runId, path: rawFile,
                                               detail: "the run's manifest lists no file \(rawFile.isEmpty ? "(the document names none)" : rawFile)"))
        }
        let quarantine = layout.quarantine("transform").appendingPathComponent(runId, isDirectory: true)
        for entry in entries {
            var file = File(entry: entry, location: nil, status: "missing", detail: "not in the run nor in quarantine")
            for url in [folder.appendingPathComponent(entry.path), quarantine.appendingPathComponent(entry.path)] where SpoolFiles.isRegularFile(url) {
                file.location = relative(url)
                do {
                    if let difference = try FileDigest.mismatch(url, size: entry.size, sha256: entry.sha256) {
                        file.status = "altered"
                        file.detail = difference
                    } else {
                        file.status = "intact"
                        file.detail = "size and SHA-256 match the manifest"
                    }
                } catch {
                    file.status = "unreadable"
                    file.detail = StageRunner.describe(error)
                }
                break
            }
            trace.files.append(file)
        }
        extractRecord(&trace)
        return trace
    }

    // MARK: - finding the run

    func relative(_ url: URL) -> String {
        let root = layout.root.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        return path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    /// The run folder of `runId`: in `raw/<collector>/`, or set aside whole in `quarantine/transform/`.
    func locateRun(_ runId: String) -> (collector: String, folder: URL, location: String)? {
        guard RunID(runId) != nil else { return nil }
        for collector in SpoolFiles.list(layout.root.appendingPathComponent("raw")) {
            let folder = layout.raw(collector).appendingPathComponent(runId, isDirectory: true)
            if SpoolFiles.isDirectory(folder) { return (collector, folder, "raw/\(collector)/\(runId)") }
        }
        let quarantined = layout.quarantine("transform").appendingPathComponent(runId, isDirectory: true)
        if let manifest = try? RawRunManifest.read(runFolder: quarantined) {
            return (manifest.collector, quarantined, "quarantine/transform/\(runId)")
        }
        return nil
    }

    func prunedRecord(_ runId: String) -> (String, PrunedRuns.Run)? {
        for file in SpoolFiles.list(layout.state) where file.hasPrefix("audit-pruned-") && file.hasSuffix(".json") {
            let collector = String(file.dropFirst("audit-pruned-".count).dropLast(5))
            if let run = (try? ManifestChain.prunedStore(layout, collector: collector).load())??.runs.first(where: { $0.runId == runId }) {
                return (collector, run)
            }
        }
        return nil
    }

    /// The newest kept CloudTrail run holding the S3 key `key`.
    func findRun(holdingKey key: String) -> (runId: String, path: String)? {
        let folder = layout.raw(CloudTrailFetcher.collector)
        for name in SpoolFiles.list(folder).reversed() where RunID(name) != nil {
            guard let manifest = try? RawRunManifest.read(runFolder: folder.appendingPathComponent(name)) else { continue }
            if let entry = manifest.entries.first(where: { $0.parameters["Key"] == key }) { return (name, entry.path) }
        }
        return nil
    }

    // MARK: - the raw record

    func extractRecord(_ trace: inout Trace) {
        guard let file = trace.files.first, let location = file.location else {
            trace.recordNote = "the raw file is not there"
            return
        }
        let url = layout.root.appendingPathComponent(location)
        switch trace.collector {
        case CloudTrailFetcher.collector?:
            extractCloudTrailRecord(&trace, url: url)
        case BillingFetcher.collector?:
            extractBillingRow(&trace, url: url)
        default:
            // An answer page (inventory, IAM, S3): the page itself; for a folder, the pages that name the resource.
            let id = trace.document.source["resource"]?["id"]?.stringValue
            var pages: [UInt8] = []
            var names: [String] = []
            for candidate in trace.files {
                guard let location = candidate.location, let data = FileManager.default.contents(atPath: layout.root.appendingPathComponent(location).path) else { continue }
                if trace.files.count > 1, let id, data.range(of: Data(id.utf8)) == nil { continue }
                if !pages.isEmpty { pages.append(10) }
                pages.append(contentsOf: data)
                names.append(candidate.entry.path)
            }
            trace.record = pages
            trace.recordNote = names.isEmpty ? "no answer page of the run names \(id ?? "the resource")"
                : "the raw answer page(s) the document was built from: \(names.joined(separator: ", "))"
        }
    }

    /// The CloudTrail record whose `eventID` is the document's id, byte for byte as in the log file.
    func extractCloudTrailRecord(_ trace: inout Trace, url: URL) {
        let wanted = trace.document.id
        var splitter = JSONRecordsSplitter()
        var found: [UInt8]?
        var number = 0
        var at = 0
        do {
            try GzipDecoder.decodeFile(url) { chunk in
                try splitter.feed(chunk) { record in
                    number += 1
                    guard found == nil, let members = try? JSONObjectScanner.members(of: record) else { return }
                    let bytes = record.bindMemory(to: UInt8.self)
                    for member in members where member.kind == .string {
                        guard String(decoding: bytes[member.key], as: UTF8.self) == "eventID" else { continue }
                        let value = bytes[(member.value.lowerBound + 1)..<(member.value.upperBound - 1)]
                        if String(decoding: value, as: UTF8.self) == wanted {
                            found = Array(bytes)
                            at = number
                        }
                    }
                }
            }
            try splitter.finish()
        } catch {
            trace.recordNote = "the log file cannot be read as CloudTrail JSON (\(StageRunner.describe(error)))"
            return
        }
        guard let found else {
            trace.recordNote = "no record of the log file has eventID \(wanted)"
            trace.matchesRecord = false
            return
        }
        trace.record = found
        trace.recordNote = "record \(at) of the log file (eventID \(wanted))"
        // The document is the record plus what cloudspool adds (@timestamp, cloud, cloudspool).
        if case .object(let members)? = try? JSONValueParser.parse(found) {
            trace.matchesRecord = members.allSatisfy { key, value in trace.document.source[key] == value }
        }
    }

    /// The CSV row of a billing document (id `<part>-<row>`), with the header, re-quoted as CSV.
    func extractBillingRow(_ trace: inout Trace, url: URL) {
        guard let row = trace.document.id.split(separator: "-").last.flatMap({ Int($0) }) else {
            trace.recordNote = "the document id \(trace.document.id) does not name a row"
            return
        }
        var parser = CSVStreamParser()
        var header: [String]?
        var n = 0
        var out: [String] = []
        let handle: (CSVStreamParser.Row) throws -> Void = { r in
            let values = (0..<r.count).map { r.string($0) }
            guard header != nil else {
                header = values
                return
            }
            n += 1
            if n == row { out = [Self.csvLine(header ?? []), Self.csvLine(values)] }
        }
        do {
            if url.path.hasSuffix(".gz") {
                try GzipDecoder.decodeFile(url) { try parser.feed($0, row: handle) }
            } else {
                try FileChunkReader.read(url) { try parser.feed($0, row: handle) }
            }
            try parser.finish(row: handle)
        } catch {
            trace.recordNote = "the report file cannot be read as CSV (\(StageRunner.describe(error)))"
            return
        }
        guard !out.isEmpty else {
            trace.recordNote = "the report file has no row \(row)"
            trace.matchesRecord = false
            return
        }
        trace.record = Array((out.joined(separator: "\n")).utf8)
        trace.recordNote = "row \(row) of the report file, under its header (values re-quoted as CSV)"
    }

    static func csvLine(_ values: [String]) -> String {
        values.map { v in v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : v }
            .joined(separator: ",")
    }
}
