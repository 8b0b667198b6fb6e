import Foundation
import Testing
@testable import Shared

@Suite struct CSVStreamParserTests {
    static let text = "a,b,c\r\n1,\"x, \"\"quoted\"\"\nline\",é日本\n,,\n\"\",\"\",last\n"

    func parse(_ text: String, chunk: Int) throws -> [[String]] {
        var parser = CSVStreamParser()
        var rows: [[String]] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let end = min(i + chunk, bytes.count)
            try bytes[i..<end].withUnsafeBytes { raw in try parser.feed(raw) { row in rows.append((0..<row.count).map { row.string($0) }) } }
            i = end
        }
        try parser.finish { row in rows.append((0..<row.count).map { row.string($0) }) }
        return rows
    }

    @Test func everyChunkBoundaryGivesTheSameRows() throws {
        let expected = [["a", "b", "c"], ["1", "x, \"quoted\"\nline", "é日本"], ["", "", ""], ["", "", "last"]]
        for chunk in 1...Self.text.utf8.count {
            #expect(try parse(Self.text, chunk: chunk) == expected, "chunk \(chunk)")
        }
    }

    @Test func lastRowWithoutNewlineAndByteOrderMark() throws {
        #expect(try parse("\u{FEFF}h1,h2\nv1,v2", chunk: 3) == [["h1", "h2"], ["v1", "v2"]])
    }

    @Test func unterminatedQuoteIsAnError() {
        let error = #expect(throws: CloudspoolError.self) { try parse("a,b\n1,\"open\n", chunk: 4) }
        #expect(error?.message == "the CSV ends inside a quoted field that starts on line 2 (truncated?)")
    }

    @Test func quoteInsideUnquotedFieldIsAnError() {
        #expect(throws: CloudspoolError.self) { try parse("a,b\n1,x\"y\n", chunk: 4) }
    }
}

@Suite struct CURTests {
    static let legacyManifest = """
    {"assemblyId":"a1b2-C3","account":"111111111111","columns":[
      {"category":"identity","name":"LineItemId","type":"String"},
      {"category":"lineItem","name":"UsageStartDate","type":"DateTime"},
      {"category":"lineItem","name":"UsageAccountId","type":"String"},
      {"category":"lineItem","name":"UnblendedCost","type":"BigDecimal"},
      {"category":"resourceTags","name":"user:Name","type":"String"}],
     "contentType":"text/csv","billingPeriod":{"start":"20261101T000000.000Z","end":"20261201T000000.000Z"},
     "reportKeys":["p/r/20261101-20261201/a1b2-C3/r-1.csv.gz"]}
    """

    @Test func legacyManifest() throws {
        let manifest = try CURManifest.parse(Data(Self.legacyManifest.utf8), format: .legacy, key: "p/r/20261101-20261201/r-Manifest.json")
        #expect(manifest.revisionId == "a1b2-C3")
        #expect(manifest.periodSuffix == "2026.11")
        #expect(manifest.columns.map(\.name) == ["identity/LineItemId", "lineItem/UsageStartDate", "lineItem/UsageAccountId", "lineItem/UnblendedCost", "resourceTags/user:Name"])
        #expect(manifest.reportKeys == ["p/r/20261101-20261201/a1b2-C3/r-1.csv.gz"])
        try manifest.checkSupported(key: "k")
    }

    @Test func cur2ManifestAndParquet() throws {
        let json = #"{"executionId":"exec-9","columns":[{"name":"line_item_unblended_cost","type":"double"}],"dataFiles":["s3://b/p/e/data/BILLING_PERIOD=2026-10/e-00001.csv.gz"]}"#
        let manifest = try CURManifest.parse(Data(json.utf8), format: .cur2, key: "p/e/metadata/BILLING_PERIOD=2026-10/e-Manifest.json")
        #expect(manifest.revisionId == "exec-9")
        #expect(manifest.periodSuffix == "2026.10")
        #expect(manifest.reportKeys == ["p/e/data/BILLING_PERIOD=2026-10/e-00001.csv.gz"])
        let parquet = #"{"executionId":"x","dataFiles":["s3://b/p/e/data/BILLING_PERIOD=2026-10/e-00001.snappy.parquet"]}"#
        let error = #expect(throws: CloudspoolError.self) {
            try CURManifest.parse(Data(parquet.utf8), format: .cur2, key: "p/e/metadata/BILLING_PERIOD=2026-10/m.json").checkSupported(key: "m.json")
        }
        #expect(error?.message == "the report m.json is in Parquet format, which is not supported: configure the report (or Data Exports export) to deliver CSV compressed with GZIP")
    }

    @Test func layoutKeys() {
        let layout = CURLayout(prefix: "p/", reportName: "r")
        let december = UTCDate.parseDay("2026-12-01")!
        #expect(layout.legacyManifestKey(periodStart: december) == "p/r/20261201-20270101/r-Manifest.json")
        #expect(layout.cur2ManifestKey(periodStart: december) == "p/r/metadata/BILLING_PERIOD=2026-12/r-Manifest.json")
        #expect(UTCDate.day(CURLayout.periodStart(monthsBack: 2, from: UTCDate.parseISO8601("2026-01-15T10:00:00Z")!)) == "2025-11-01")
    }

    @Test func wholeDocumentForARow() throws {
        let manifest = try CURManifest.parse(Data(Self.legacyManifest.utf8), format: .legacy, key: "m")
        let header = ["identity/LineItemId", "lineItem/UsageStartDate", "lineItem/UsageAccountId", "lineItem/UnblendedCost", "resourceTags/user:Name"]
        let plan = CURColumnPlan(header: header, manifest: manifest)
        var builder = CURDocumentBuilder(plan: plan, physicalIndex: "cloudspool-awsbilling-2026.11-a1b2-c3", part: 0, periodSuffix: "2026.11",
                                         periodStart: "2026-11-01T00:00:00Z", revision: "a1b2-C3", reportKey: "k.csv.gz")
        var parser = CSVStreamParser()
        var out: [UInt8] = []
        let csv = "id-1,2026-11-03T05:00:00Z,222222222222,-.5000000001,\n"
        try Array(csv.utf8).withUnsafeBytes { raw in try parser.feed(raw) { row in try builder.append(row: row, rowNumber: 7, to: &out) } }
        #expect(String(decoding: out, as: UTF8.self) == """
        {"index":{"_index":"cloudspool-awsbilling-2026.11-a1b2-c3","_id":"0-7"}}
        {"@timestamp":"2026-11-03T05:00:00Z","cloud":{"provider":"aws","account":{"id":"222222222222"}},"cloudspool":{"billing_period":"2026.11","revision":"a1b2-C3","report_file":"k.csv.gz"},"identity":{"LineItemId":"id-1"},"lineItem":{"UsageStartDate":"2026-11-03T05:00:00Z","UsageAccountId":"222222222222","UnblendedCost":-0.5000000001}}

        """)
        let mappings = plan.mappings["properties"] as? [String: Any]
        #expect((mappings?["lineItem"] as? [String: Any]).map { "\($0)" }?.contains("double") == true)
    }

    @Test(arguments: [("1", "1"), ("-0.25", "-0.25"), (".5", "0.5"), ("+3", "3"), ("007.10", "7.10"), ("1E-10", "1e-10"), ("5.", "5")])
    func numbersBecomeJSON(text: String, json: String) {
        var out: [UInt8] = []
        let ok = Array(text.utf8).withUnsafeBufferPointer { CURDocumentBuilder.appendNumber($0, to: &out) }
        #expect(ok)
        #expect(String(decoding: out, as: UTF8.self) == json)
    }

    @Test(arguments: ["abc", "1.2.3", "", "-", "1e", "12 "])
    func notNumbers(text: String) {
        var out: [UInt8] = []
        #expect(!Array(text.utf8).withUnsafeBufferPointer { CURDocumentBuilder.appendNumber($0, to: &out) })
    }
}
