import Foundation
import Testing
@testable import Shared

/// The chain of raw runs and the capture verification, on a spool built in a temporary folder.
@Suite struct AuditChainTests {
    /// A spool with `count` committed runs of one collector, each holding one file; the runs in commit order.
    func spool(runs count: Int, collector: String = "cloudtrail") throws -> (SpoolLayout, [URL], URL) {
        let folder = try makeTemporaryFolder()
        let layout = SpoolLayout(root: folder.path)
        var committed: [URL] = []
        let base = UTCDate.parseISO8601("2026-11-28T10:15:00Z")!
        for n in 0..<count {
            // Every run in the same second, suffixes descending: names sort against the commit order.
            let writer = try RawRunWriter(layout: layout, collector: collector, runID: RunID(date: base, suffix: UInt32(0xf000_0000 - n)), startedAt: base)
            let body = Data("file \(n)\n".utf8)
            let path = "objects/AWSLogs/111111111111/CloudTrail/eu-west-1/2026/11/28/f\(n).json.gz"
            try body.write(to: try writer.fileURL(path))
            try writer.add(.init(path: path, service: "s3", operation: "GetObject", account: "111111111111", region: "eu-west-1",
                             parameters: ["Key": String(path.dropFirst(8))], requestedAt: "2026-11-28T10:15:00Z", httpStatus: 200,
                             size: Int64(body.count), sha256: SHA256Hex.of(body)))
            committed.append(try writer.commit(finishedAt: base))
        }
        return (layout, committed, folder)
    }

    func findings(_ layout: SpoolLayout) -> [String] {
        CaptureVerifier(layout: layout).verify().findings.map { "\($0.kind.rawValue) \($0.runId ?? "-")" }
    }

    @Test func eachRunNamesThePreviousOneAndTheHeadIsRecorded() throws {
        let (layout, runs, folder) = try spool(runs: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        let manifests = try runs.map { try RawRunManifest.readWithBytes(runFolder: $0) }
        #expect(manifests[0].manifest.chain == RawRunManifest.Chain(previousRunId: nil, previousManifestSHA256: nil))
        #expect(manifests[1].manifest.chain == RawRunManifest.Chain(previousRunId: runs[0].lastPathComponent, previousManifestSHA256: SHA256Hex.of(manifests[0].bytes)))
        #expect(manifests[2].manifest.chain?.previousRunId == runs[1].lastPathComponent)
        let head = try ManifestChain.headStore(layout, collector: "cloudtrail").load()
        #expect(head?.runId == runs[2].lastPathComponent)
        #expect(head?.manifestSHA256 == SHA256Hex.of(manifests[2].bytes))
        let report = CaptureVerifier(layout: layout).verify()
        #expect(report.intact)
        #expect(report.runs.map(\.runId) == runs.map(\.lastPathComponent), "in commit order, not name order")
        #expect(report.runs.map(\.chain) == ["start", "linked", "linked"])
    }

    @Test func alteredMissingAndUnlistedFiles() throws {
        let (layout, runs, folder) = try spool(runs: 2)
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try RawRunManifest.read(runFolder: runs[0]).entries[0]
        try Data("file 9\n".utf8).write(to: runs[0].appendingPathComponent(first.path))
        let second = try RawRunManifest.read(runFolder: runs[1]).entries[0]
        try FileManager.default.removeItem(at: runs[1].appendingPathComponent(second.path))
        try Data("x".utf8).write(to: runs[1].appendingPathComponent("objects/.hidden"))
        let report = CaptureVerifier(layout: layout).verify()
        #expect(report.findings.map(\.kind) == [.altered, .missing, .unlisted])
        #expect(report.findings[0].detail.hasPrefix("SHA-256 \(SHA256Hex.of(Data("file 9\n".utf8))), the manifest says \(first.sha256): it changed after fetch stored it"))
        #expect(report.findings[2].path == "raw/cloudtrail/\(runs[1].lastPathComponent)/objects/.hidden")
    }

    @Test func aQuarantinedFileIsVerifiedWhereTransformPutIt() throws {
        let (layout, runs, folder) = try spool(runs: 1)
        defer { try? FileManager.default.removeItem(at: folder) }
        let entry = try RawRunManifest.read(runFolder: runs[0]).entries[0]
        let quarantine = Quarantine(layout: layout, stage: "transform")
        try quarantine.add(file: runs[0].appendingPathComponent(entry.path), runID: runs[0].lastPathComponent, relativePath: entry.path, reason: "corrupt")
        var report = CaptureVerifier(layout: layout).verify()
        #expect(report.intact)
        #expect(report.runs[0].quarantinedFiles == 1)
        try Data("changed".utf8).write(to: quarantine.location(runID: runs[0].lastPathComponent, relativePath: entry.path))
        report = CaptureVerifier(layout: layout).verify()
        #expect(report.findings.map(\.kind) == [.altered])
    }

    @Test func aRewrittenDeletedOrInsertedRunBreaksTheChain() throws {
        let (layout, runs, folder) = try spool(runs: 4)
        defer { try? FileManager.default.removeItem(at: folder) }
        let names = runs.map(\.lastPathComponent)
        // rewritten: a harmless-looking edit of the second manifest
        let url = runs[1].appendingPathComponent(RawRunManifest.fileName)
        let original = try Data(contentsOf: url)
        var edited = try RawRunManifest.read(runFolder: runs[1])
        edited.finishedAt = "2026-11-28T10:16:00Z"
        try edited.encoded().write(to: url)
        #expect(findings(layout) == ["chain \(names[1])"])
        try original.write(to: url)
        // deleted: the third run's predecessor is gone
        let saved = folder.appendingPathComponent("saved")
        try FileManager.default.copyItem(at: runs[1], to: saved)
        try FileManager.default.removeItem(at: runs[1])
        #expect(findings(layout) == ["chain \(names[2])"])
        try FileManager.default.moveItem(at: saved, to: runs[1])
        // inserted: a copy of the third run under another name also follows the second
        let copy = layout.raw("cloudtrail").appendingPathComponent("20261128T101500Z-00000001")
        try FileManager.default.copyItem(at: runs[2], to: copy)
        var forged = try RawRunManifest.read(runFolder: copy)
        forged.runId = copy.lastPathComponent
        try forged.encoded().write(to: copy.appendingPathComponent(RawRunManifest.fileName))
        #expect(findings(layout).contains { $0.hasPrefix("chain") })
        try FileManager.default.removeItem(at: copy)
        // the newest run deleted: the head record says so
        try FileManager.default.removeItem(at: runs[3])
        #expect(findings(layout) == ["chain \(names[3])"])
    }

    @Test func prunedRunsKeepTheChainAndTheNextCommitFollowsTheHead() throws {
        let (layout, runs, folder) = try spool(runs: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        let when = UTCDate.parseISO8601("2026-12-30T00:00:00Z")!
        try ManifestChain.recordPruned(layout: layout, collector: "cloudtrail", runs: runs.prefix(2).map {
            ManifestChain.prunedRun(folder: $0, quarantine: layout.quarantine("transform").appendingPathComponent($0.lastPathComponent), at: when)
        })
        for run in runs.prefix(2) { try FileManager.default.removeItem(at: run) }
        let report = CaptureVerifier(layout: layout).verify()
        #expect(report.intact)
        #expect(report.prunedRuns == 2)
        // A fetch killed between a run's rename and the head's update: the next run follows that run, not the head.
        let lagging = layout.raw("cloudtrail").appendingPathComponent("20261128T101500Z-00000002")
        try FileManager.default.copyItem(at: runs[2], to: lagging)
        var manifest = try RawRunManifest.read(runFolder: lagging)
        manifest.runId = lagging.lastPathComponent
        manifest.chain = RawRunManifest.Chain(previousRunId: runs[2].lastPathComponent,
                                              previousManifestSHA256: SHA256Hex.of(try Data(contentsOf: runs[2].appendingPathComponent(RawRunManifest.fileName))))
        let bytes = try manifest.encoded()
        try bytes.write(to: lagging.appendingPathComponent(RawRunManifest.fileName))
        #expect(CaptureVerifier(layout: layout).verify().intact)
        let link = try ManifestChain.nextLink(layout: layout, collector: "cloudtrail")
        #expect(link == RawRunManifest.Chain(previousRunId: lagging.lastPathComponent, previousManifestSHA256: SHA256Hex.of(bytes)))
    }

    @Test func prunedRecordsAreCompactedButRunsWithQuarantinedFilesStay() {
        var record = PrunedRuns()
        let runs = (0..<(PrunedRuns.keep + 5)).map { n in
            PrunedRuns.Run(runId: String(format: "20261128T10%04dZ-00000000", n), manifestSHA256: "h\(n)", chained: true, previousRunId: nil,
                           previousManifestSHA256: nil, files: 1, bytes: 1, prunedAt: "", quarantined: n == 1 ? [.init(path: "p", size: 1, sha256: "s")] : nil)
        }
        record.add(runs)
        #expect(record.runs.count == PrunedRuns.keep + 1)
        #expect(record.compacted?.runs == 4)
        #expect(record.runs.contains { $0.runId == runs[1].runId })
        #expect(record.covers(runs[0].runId) && record.covers(runs[3].runId) && record.covers(runs.last!.runId))
    }
}
