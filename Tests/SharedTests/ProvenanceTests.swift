import Foundation
import Testing
@testable import Shared

/// Every document says where it came from: the raw run and the file inside it.
@Suite struct ProvenanceTests {
    @Test func cloudTrailDocumentNamesItsRunAndFile() throws {
        let builder = CloudTrailDocumentBuilder(indexStem: "awscli-trail")
        let record = Array(#"{"eventTime":"2026-11-27T23:59:58Z","eventID":"3a6f-1","eventName":"RunInstances"}"#.utf8)
        let key = "AWSLogs/111111111111/CloudTrail/eu-west-1/2026/11/28/f.json.gz"
        var out: [UInt8] = []
        var events: [UInt8] = []
        try record.withUnsafeBytes { raw in
            try builder.append(record: raw, fileKey: key, account: "111111111111", region: "eu-west-1",
                               provenance: CloudTrailDocumentBuilder.provenance(runID: "20261128T101500Z-1a2b3c4d", rawFile: "objects/" + key),
                               to: &out, resourceEvents: &events)
        }
        #expect(String(decoding: out, as: UTF8.self) == #"""
        {"index":{"_index":"awscli-trail-2026.11.27","_id":"3a6f-1"}}
        {"@timestamp":"2026-11-27T23:59:58Z","cloud":{"provider":"aws","account":{"id":"111111111111"},"region":"eu-west-1"},"cloudspool":{"log_file":"AWSLogs/111111111111/CloudTrail/eu-west-1/2026/11/28/f.json.gz","run_id":"20261128T101500Z-1a2b3c4d","raw_file":"objects/AWSLogs/111111111111/CloudTrail/eu-west-1/2026/11/28/f.json.gz"},"eventTime":"2026-11-27T23:59:58Z","eventID":"3a6f-1","eventName":"RunInstances"}

        """#)
    }

    @Test func billingDocumentNamesItsRunAndFile() throws {
        let manifest = try CURManifest.parse(Data(#"{"assemblyId":"a1","account":"111111111111","columns":[{"category":"identity","name":"LineItemId","type":"String"}],"billingPeriod":{"start":"20261101T000000.000Z","end":"20261201T000000.000Z"},"reportKeys":["k.csv.gz"]}"#.utf8),
                                             format: .legacy, key: "m.json")
        let plan = CURColumnPlan(header: ["identity/LineItemId"], manifest: manifest)
        var builder = CURDocumentBuilder(plan: plan, physicalIndex: "cloudspool-awsbilling-2026.11-a1", part: 0, periodSuffix: "2026.11",
                                         periodStart: "2026-11-01T00:00:00Z", revision: "a1", reportKey: "k.csv.gz",
                                         runID: "20261128T101500Z-1a2b3c4d", rawFile: "objects/k.csv.gz")
        var parser = CSVStreamParser()
        var out: [UInt8] = []
        var first = true
        try Array("identity/LineItemId\nid-1\n".utf8).withUnsafeBytes { raw in
            try parser.feed(raw) { row in
                if first { first = false; return }
                try builder.append(row: row, rowNumber: 1, to: &out)
            }
        }
        let document = String(decoding: out, as: UTF8.self).split(separator: "\n")[1]
        #expect(document.contains(#""cloudspool":{"billing_period":"2026.11","revision":"a1","report_file":"k.csv.gz","run_id":"20261128T101500Z-1a2b3c4d","raw_file":"objects/k.csv.gz"}"#))
    }
}
