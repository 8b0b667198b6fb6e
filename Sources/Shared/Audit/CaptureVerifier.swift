import Foundation

/// Answers "is what we captured intact?": walks every kept raw run and
/// quarantined capture, checks each file against its manifest entry (size,
/// SHA-256), finds files that are missing or not listed, and checks the chain
/// of manifests of each collector (see `ManifestChain`). Reads only.
public struct CaptureVerifier: Sendable {
    public let layout: SpoolLayout
    /// Only runs started at or after this time (the chain link of the first one is still checked).
    public let since: Date?
    /// Only this collector.
    public let collector: String?
    /// Whether the files are read and hashed; without, only the manifests and their chain are checked.
    public let checkFiles: Bool

    public init(layout: SpoolLayout, since: Date? = nil, collector: String? = nil, checkFiles: Bool = true) {
        self.layout = layout
        self.since = since
        self.collector = collector
        self.checkFiles = checkFiles
    }

    /// One run as verified.
    public struct RunResult: Sendable, Equatable {
        public var collector: String
        public var runId: String
        /// `raw`, `quarantine/transform` (a whole run set aside by transform) or `quarantine/fetch` (set aside before its commit).
        public var location: String
        public var files = 0
        /// Files transform moved to `quarantine/transform/<run>/` (verified there).
        public var quarantinedFiles = 0
        public var bytes: Int64 = 0
        public var manifestSHA256 = ""
        /// How the run is linked: `start`, `linked`, `not chained`, `broken`.
        public var chain = ""
        public var problems = 0
    }

    /// Everything one verification found.
    public struct Report: Sendable {
        public var runs: [RunResult] = []
        public var findings: [AuditFinding] = []
        /// What a person should know but that is no mismatch (pruned runs, runs older than chaining).
        public var notes: [String] = []
        public var prunedRuns = 0

        public var intact: Bool { findings.isEmpty }
        public var files: Int { runs.reduce(0) { $0 + $1.files } }
        public var bytes: Int64 { runs.reduce(0) { $0 + $1.bytes } }
    }

    /// A run as the chain sees it.
    struct Node {
        var runId: String
        var manifestSHA256: String
        var chained: Bool
        var previousRunId: String?
        var previousManifestSHA256: String?
        /// `raw`, `quarantine/transform`, `pruned`.
        var location: String
    }

    public func verify() -> Report {
        var report = Report()
        var nodes: [String: [Node]] = [:]
        var manifests: [String: RawRunManifest] = [:]   // run id -> manifest, for the quarantined files of kept runs

        for name in collectorNames() {
            let folder = layout.raw(name)
            for runName in SpoolFiles.list(folder) {
                let url = folder.appendingPathComponent(runName)
                guard RunID(runName) != nil, SpoolFiles.isDirectory(url) else {
                    if inScope(collector: name, runId: nil) {
                        report.findings.append(AuditFinding(.foreign, collector: name, runId: nil, path: relative(url),
                                                            detail: "not a raw run folder: fetch never writes this name; remove it after review"))
                    }
                    continue
                }
                let (result, node, manifest) = verifyRun(url, collector: name, location: "raw", chained: true, into: &report)
                if let node { nodes[name, default: []].append(node) }
                if let manifest { manifests[runName] = manifest }
                if let result { report.runs.append(result) }
            }
        }
        verifyTransformQuarantine(nodes: &nodes, manifests: manifests, report: &report)
        verifyFetchQuarantine(report: &report)
        var order: [String: Int] = [:]
        for name in collectorNames() {
            checkChain(collector: name, nodes: nodes[name] ?? [], report: &report)
            for (n, runId) in Self.commitOrder(nodes[name] ?? []).enumerated() { order[runId] = n }
        }
        // In commit order (the chain's), which names of the same second do not give.
        report.runs.sort { ($0.collector, order[$0.runId] ?? Int.max, $0.runId) < ($1.collector, order[$1.runId] ?? Int.max, $1.runId) }
        let position = { (f: AuditFinding) in (f.collector, f.runId.flatMap { order[$0] } ?? Int.max, f.runId ?? "") }
        report.findings = report.findings.enumerated().sorted { a, b in
            let (x, y) = (position(a.element), position(b.element))
            return x != y ? x < y : a.offset < b.offset
        }.map(\.element)
        return report
    }

    // MARK: - scope

    /// Collectors with something to verify: raw folders, chain records, the registry.
    func collectorNames() -> [String] {
        var names = Set(SpoolFiles.list(layout.root.appendingPathComponent("raw")).filter { SpoolFiles.isDirectory(layout.raw($0)) })
        for file in SpoolFiles.list(layout.state) {
            for prefix in ["audit-chain-", "audit-pruned-"] where file.hasPrefix(prefix) && file.hasSuffix(".json") {
                names.insert(String(file.dropFirst(prefix.count).dropLast(5)))
            }
        }
        if let collector { return names.contains(collector) ? [collector] : [] }
        return names.sorted()
    }

    func inScope(collector name: String, runId: String?) -> Bool {
        if let collector, collector != name { return false }
        guard let since, let runId else { return true }
        guard let date = RunID(runId)?.date else { return true }
        return date >= since
    }

    func relative(_ url: URL) -> String {
        let root = layout.root.standardizedFileURL.path
        let path = url.standardizedFileURL.path
        return path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    // MARK: - one run

    /// Verifies one run folder (when in scope) and returns its chain node.
    func verifyRun(_ folder: URL, collector expected: String?, location: String, chained: Bool,
                   into report: inout Report) -> (RunResult?, Node?, RawRunManifest?) {
        let runId = folder.lastPathComponent
        let manifestURL = folder.appendingPathComponent(RawRunManifest.fileName)
        guard let bytes = FileManager.default.contents(atPath: manifestURL.path) else {
            let name = expected ?? "?"
            if inScope(collector: name, runId: runId) {
                let exists = FileManager.default.fileExists(atPath: manifestURL.path)
                report.findings.append(AuditFinding(exists ? .unreadable : .manifest, collector: name, runId: runId, path: relative(manifestURL),
                                                    detail: exists ? "cannot read the manifest; check the spool's permissions"
                                                        : "the run has no manifest.json: it was removed, or the folder was not written by fetch"))
            }
            return (nil, expected.map { _ in Node(runId: runId, manifestSHA256: "", chained: false, location: location) }, nil)
        }
        let hash = SHA256Hex.of(bytes)
        let manifest: RawRunManifest
        do {
            manifest = try RawRunManifest.decode(bytes, url: manifestURL)
        } catch {
            let name = expected ?? "?"
            if inScope(collector: name, runId: runId) {
                report.findings.append(AuditFinding(.manifest, collector: name, runId: runId, path: relative(manifestURL),
                                                    detail: "the manifest is not valid JSON of a run manifest: it was edited"))
            }
            return (nil, expected.map { _ in Node(runId: runId, manifestSHA256: hash, chained: false, location: location) }, nil)
        }
        let collector = expected ?? manifest.collector
        let node = Node(runId: runId, manifestSHA256: hash, chained: manifest.chain != nil, previousRunId: manifest.chain?.previousRunId,
                        previousManifestSHA256: manifest.chain?.previousManifestSHA256, location: location)
        guard inScope(collector: collector, runId: runId) else { return (nil, node, manifest) }
        var result = RunResult(collector: collector, runId: runId, location: location, manifestSHA256: hash)
        let before = report.findings.count
        func finding(_ kind: AuditFinding.Kind, _ path: String?, _ detail: String) {
            report.findings.append(AuditFinding(kind, collector: collector, runId: runId, path: path, detail: detail))
        }
        if manifest.runId != runId {
            finding(.manifest, relative(manifestURL), "the manifest names run \(manifest.runId), its folder is \(runId): a manifest was copied from another run")
        }
        if manifest.collector != collector {
            finding(.manifest, relative(manifestURL), "the manifest names collector \(manifest.collector), its folder is raw/\(collector)/")
        }
        var listed = Set<String>()
        let quarantine = layout.quarantine("transform").appendingPathComponent(runId, isDirectory: true)
        for entry in manifest.entries {
            guard SafePath.isSafe(entry.path) else {
                finding(.manifest, relative(manifestURL), "an entry's path leaves the run folder (\(entry.path)): the manifest was edited")
                continue
            }
            listed.insert(entry.path)
            result.files += 1
            result.bytes += entry.size
            let url = folder.appendingPathComponent(entry.path)
            guard checkFiles else { continue }
            if SpoolFiles.isRegularFile(url) {
                do {
                    if let difference = try FileDigest.mismatch(url, size: entry.size, sha256: entry.sha256) {
                        finding(.altered, relative(url), difference)
                    }
                } catch {
                    finding(.unreadable, relative(url), "cannot read it: \(StageRunner.describe(error))")
                }
            } else if location == "raw", SpoolFiles.isRegularFile(quarantine.appendingPathComponent(entry.path)) {
                result.quarantinedFiles += 1   // verified with the quarantine
            } else {
                finding(.missing, relative(url), "listed in the manifest (\(entry.size) bytes, SHA-256 \(entry.sha256)) but not in the run"
                        + (location == "raw" ? " nor in quarantine" : "") + ": it was removed; restore it from a backup, check who can write the spool")
            }
        }
        for path in checkFiles ? SpoolFiles.regularFiles(under: folder) : [] where path != RawRunManifest.fileName && !listed.contains(path) {
            let url = folder.appendingPathComponent(path)
            finding(.unlisted, relative(url), "not in the manifest (\(SpoolFiles.size(url)) bytes): fetch did not store it; check who put it there, then remove it")
        }
        for path in checkFiles ? SpoolFiles.nonRegularFiles(under: folder) : [] {
            finding(.unlisted, relative(folder.appendingPathComponent(path)), "not a regular file (a link?): fetch never writes one")
        }
        result.problems = report.findings.count - before
        result.chain = chained ? (manifest.chain == nil ? "not chained" : manifest.chain?.previousRunId == nil ? "start" : "linked") : "-"
        return (result, node, manifest)
    }

    // MARK: - quarantine

    /// `quarantine/transform/`: whole runs (billing), single files of a run (CloudTrail), folders set aside as not a run.
    func verifyTransformQuarantine(nodes: inout [String: [Node]], manifests: [String: RawRunManifest], report: inout Report) {
        let root = layout.quarantine("transform")
        var pruned: [String: (collector: String, entries: [PrunedRuns.QuarantinedEntry])] = [:]
        for name in collectorNames() {
            for run in (try? ManifestChain.prunedStore(layout, collector: name).load())??.runs ?? [] {
                if let entries = run.quarantined { pruned[run.runId] = (name, entries) }
            }
        }
        for name in SpoolFiles.list(root) {
            let url = root.appendingPathComponent(name)
            if name.hasSuffix(".reason") { continue }
            guard SpoolFiles.isDirectory(url) else {
                if collector == nil {
                    report.findings.append(AuditFinding(.foreign, collector: "-", runId: nil, path: relative(url), detail: "a file in quarantine/transform/ that transform did not put there"))
                }
                continue
            }
            guard RunID(name) != nil else {
                // `<collector>-<name>`: a folder in raw/ without a manifest, set aside by transform.
                let owner = collectorNames().first { name.hasPrefix($0 + "-") } ?? name.split(separator: "-").first.map(String.init) ?? "?"
                if inScope(collector: owner, runId: nil) {
                    report.findings.append(AuditFinding(.foreign, collector: owner, runId: nil, path: relative(url),
                                                        detail: "set aside by transform: it was in raw/ without a manifest, so fetch did not write it; remove it after review"))
                }
                continue
            }
            if FileManager.default.fileExists(atPath: url.appendingPathComponent(RawRunManifest.fileName).path) {
                // A whole run (billing) with its manifest: verified like a raw run, part of its collector's chain.
                let (result, node, manifest) = verifyRun(url, collector: nil, location: "quarantine/transform", chained: true, into: &report)
                if let node, let manifest { nodes[manifest.collector, default: []].append(node) }
                if let result { report.runs.append(result) }
                continue
            }
            // Files of run `name` that transform set aside: each must be a file of that run, as its manifest says.
            var entries: [String: (size: Int64, sha256: String)] = [:]
            var owner: String?
            if let manifest = manifests[name] {
                owner = manifest.collector
                for entry in manifest.entries { entries[entry.path] = (entry.size, entry.sha256) }
            } else if let record = pruned[name] {
                owner = record.collector
                for entry in record.entries { entries[entry.path] = (entry.size, entry.sha256) }
            }
            guard checkFiles, inScope(collector: owner ?? collector ?? "?", runId: name) else { continue }
            for path in SpoolFiles.regularFiles(under: url) where !path.hasSuffix(".reason") && !path.hasSuffix(".rejected.ndjson") {
                let file = url.appendingPathComponent(path)
                guard let owner else {
                    report.findings.append(AuditFinding(.foreign, collector: "?", runId: name, path: relative(file),
                                                        detail: "quarantined file of run \(name), which is neither kept nor recorded as pruned: it cannot be verified"))
                    continue
                }
                guard let entry = entries[path] else {
                    report.findings.append(AuditFinding(.unlisted, collector: owner, runId: name, path: relative(file),
                                                        detail: "in quarantine but not a file of run \(name)'s manifest"))
                    continue
                }
                do {
                    if let difference = try FileDigest.mismatch(file, size: entry.size, sha256: entry.sha256) {
                        report.findings.append(AuditFinding(.altered, collector: owner, runId: name, path: relative(file), detail: difference))
                    }
                } catch {
                    report.findings.append(AuditFinding(.unreadable, collector: owner, runId: name, path: relative(file),
                                                        detail: "cannot read it: \(StageRunner.describe(error))"))
                }
            }
        }
    }

    /// `quarantine/fetch/`: runs set aside before their commit (a report revision naming a missing file).
    func verifyFetchQuarantine(report: inout Report) {
        let root = layout.quarantine("fetch")
        for name in SpoolFiles.list(root) where RunID(name) != nil {
            let url = root.appendingPathComponent(name)
            guard SpoolFiles.isDirectory(url) else { continue }
            if FileManager.default.fileExists(atPath: url.appendingPathComponent(RawRunManifest.fileName).path) {
                let (result, _, _) = verifyRun(url, collector: nil, location: "quarantine/fetch", chained: false, into: &report)
                if let result { report.runs.append(result) }
            } else if collector == nil {
                report.notes.append("\(relative(url)) has no manifest (set aside by an older cloudspool): its files cannot be verified")
            }
        }
    }

    // MARK: - chain

    /// Run ids in commit order: by name, except that a run follows the run it names as previous.
    static func commitOrder(_ nodes: [Node]) -> [String] {
        let names = Set(nodes.map(\.runId))
        var following: [String: [String]] = [:]
        var roots: [String] = []
        for node in nodes.sorted(by: { $0.runId < $1.runId }) {
            if let previous = node.previousRunId, names.contains(previous), previous != node.runId {
                following[previous, default: []].append(node.runId)
            } else {
                roots.append(node.runId)
            }
        }
        var out: [String] = []
        var seen = Set<String>()
        var stack = Array(roots.reversed())
        while let next = stack.popLast() {
            guard seen.insert(next).inserted else { continue }
            out.append(next)
            stack.append(contentsOf: (following[next] ?? []).reversed())
        }
        return out + nodes.map(\.runId).filter { !seen.contains($0) }.sorted()
    }

    func checkChain(collector name: String, nodes kept: [Node], report: inout Report) {
        let pruned = (try? ManifestChain.prunedStore(layout, collector: name).load()) ?? nil
        let head: ManifestChain.Head?
        do {
            head = try ManifestChain.headStore(layout, collector: name).load()
        } catch {
            report.findings.append(AuditFinding(.chain, collector: name, runId: nil, path: "state/audit-chain-\(name).json",
                                                detail: "the chain head record cannot be read (\(StageRunner.describe(error))): it was edited"))
            head = nil
        }
        var byID: [String: Node] = [:]
        for run in pruned?.runs ?? [] {
            byID[run.runId] = Node(runId: run.runId, manifestSHA256: run.manifestSHA256, chained: run.chained, previousRunId: run.previousRunId,
                                   previousManifestSHA256: run.previousManifestSHA256, location: "pruned")
        }
        for node in kept { byID[node.runId] = node }
        let all = byID.values.sorted { $0.runId < $1.runId }
        report.prunedRuns += (pruned?.runs.count ?? 0) + (pruned?.compacted?.runs ?? 0)
        if let pruned, !(pruned.runs.isEmpty && pruned.compacted == nil) {
            let count = pruned.runs.count + (pruned.compacted?.runs ?? 0)
            let first = pruned.compacted?.firstRunId ?? pruned.runs.first?.runId ?? ""
            let last = pruned.runs.last?.runId ?? pruned.compacted?.lastRunId ?? ""
            report.notes.append("\(name): \(count) run(s) removed by retention are on record (state/audit-pruned-\(name).json, \(first) … \(last)); their links are checked, their files are gone")
        }
        // The chain is followed by its links: run ids have one-second resolution, so names do not give the commit order.
        let firstChained = all.first { $0.chained }?.runId
        var successors: [String: [String]] = [:]
        for node in all where node.chained {
            if let previous = node.previousRunId { successors[previous, default: []].append(node.runId) }
        }
        func problem(_ runId: String?, _ detail: String) {
            report.findings.append(AuditFinding(.chain, collector: name, runId: runId, path: nil, detail: detail))
            if let runId, let i = report.runs.firstIndex(where: { $0.collector == name && $0.runId == runId }) {
                report.runs[i].chain = "broken"
                report.runs[i].problems += 1
            }
        }
        let starts = all.filter { $0.chained && $0.previousRunId == nil }
        if starts.count > 1, starts.contains(where: { inScope(collector: name, runId: $0.runId) }) {
            problem(starts[1].runId, "runs \(starts.map(\.runId).joined(separator: ", ")) all claim to be the collector's first run: only one was committed by fetch")
        }
        var legacy = 0
        for node in all where inScope(collector: name, runId: node.runId) {
            guard node.chained else {
                if let firstChained, node.runId > firstChained, node.location != "pruned" {
                    problem(node.runId, "the run has no chain link although runs before it have one: it was not committed by this cloudspool's fetch (copied in by hand?)")
                } else {
                    legacy += 1
                }
                continue
            }
            guard let previousId = node.previousRunId else { continue }
            if let links = successors[previousId], links.count > 1, links.first == node.runId {
                problem(node.runId, "runs \(links.joined(separator: ", ")) all name \(previousId) as their previous run: a run was inserted")
            }
            guard let previous = byID[previousId] else {
                // The predecessor of a pruned run may have been pruned before records were kept, or folded into the count.
                if pruned?.covers(previousId) == true || node.location == "pruned" { continue }
                problem(node.runId, "its previous run \(previousId) is gone: not in raw/, not in quarantine, not recorded as pruned by retention (deleted?); restore it from a backup, check who can write the spool")
                continue
            }
            if previous.manifestSHA256 != node.previousManifestSHA256 {
                let was = node.previousManifestSHA256 ?? "-"
                problem(previousId, "the manifest of \(previousId) (\(previous.location)) has SHA-256 \(previous.manifestSHA256.isEmpty ? "(unreadable)" : previous.manifestSHA256) but was \(was) when \(node.runId) was committed: it was rewritten; restore it from a backup, check who can write the spool")
            }
        }
        if legacy > 0 {
            report.notes.append("\(name): \(legacy) run(s) written before runs were chained: their files are checked, their order is not")
        }
        // The newest runs: only the head record can tell that they were deleted.
        guard let head else {
            if firstChained != nil {
                problem(nil, "state/audit-chain-\(name).json is missing but the runs are chained: the newest runs cannot be checked (the record was deleted?)")
            }
            return
        }
        if let node = byID[head.runId] {
            if node.manifestSHA256 != head.manifestSHA256 {
                problem(head.runId, "the manifest of the newest run \(head.runId) has SHA-256 \(node.manifestSHA256) but was \(head.manifestSHA256) when it was committed: it was rewritten; restore it from a backup, check who can write the spool")
            }
        } else if pruned?.covers(head.runId) != true {
            problem(head.runId, "the newest committed run \(head.runId) (state/audit-chain-\(name).json) is gone: not in raw/, not in quarantine, not pruned (deleted?); restore it from a backup, check who can write the spool")
        }
        if let following = successors[head.runId], following.count == 1 {
            report.notes.append("\(name): run \(following[0]) follows the chain head on record (a fetch was committing it, or was killed between its rename and the record); its link is checked")
        }
    }
}

extension SpoolFiles {
    /// Whether `url` is a regular file (not a folder, not a link).
    static func isRegularFile(_ url: URL) -> Bool {
        guard let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey]) else { return false }
        return values.isRegularFile == true && values.isSymbolicLink != true
    }

    /// Relative paths of every regular file below `folder` (hidden ones included), sorted.
    static func regularFiles(under folder: URL) -> [String] {
        walk(folder).filter(\.regular).map(\.path)
    }

    /// Relative paths of everything below `folder` that is neither a folder nor a regular file (links, sockets).
    static func nonRegularFiles(under folder: URL) -> [String] {
        walk(folder).filter { !$0.regular }.map(\.path)
    }

    private static func walk(_ folder: URL) -> [(path: String, regular: Bool)] {
        let base = folder.standardizedFileURL.path
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey, .isSymbolicLinkKey],
                                                              options: []) else { return [] }
        var out: [(String, Bool)] = []
        for case let url as URL in enumerator {
            let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .isDirectoryKey, .isSymbolicLinkKey])
            if values?.isDirectory == true && values?.isSymbolicLink != true { continue }
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(base + "/") else { continue }
            out.append((String(path.dropFirst(base.count + 1)), values?.isRegularFile == true && values?.isSymbolicLink != true))
        }
        return out.sorted { $0.0 < $1.0 }
    }
}
