import Foundation
import Testing
@testable import Shared

/// The decoder against the AWS CLI: for every fixture (raw answers from
/// moto_server, documented bodies for what moto lacks, hand-made edge cases),
/// the decoded pages must equal what `aws ... --output json` printed for the
/// same bytes, key order and value types included.
@Suite struct AWSResponseDecoderTests {
    static let folder = fixturesURL.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("integration/inventory_fixtures")

    struct Fixture: CustomStringConvertible, Sendable {
        let path: String, service: String, operation: String, pages: Int
        var description: String { path }
    }

    static var fixtures: [Fixture] {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("index.json")),
              let index = try? JSONValueParser.parse(Array(data)) else { return [] }
        return index["fixtures"]?.arrayValue.compactMap { f -> Fixture? in
            guard let path = f["path"]?.stringValue, !path.contains("awsjson"), let service = f["service"]?.stringValue,
                  let operation = f["operation"]?.stringValue else { return nil }
            return Fixture(path: path, service: service, operation: operation, pages: Int(f["pages"]?.intValue ?? 1))
        } ?? []
    }

    @Test func thereAreFixtures() {
        #expect(Self.fixtures.count >= 40)
    }

    @Test(arguments: fixtures)
    func matchesTheCLI(fixture: Fixture) throws {
        let decoder = AWSResponseDecoder()
        let pages = (1...fixture.pages).map { Self.folder.appendingPathComponent(fixture.path + ($0 == 1 ? ".raw" : ".\($0).raw")) }
        let decoded = try pages.map { try decoder.decode(service: fixture.service, operation: fixture.operation, body: Data(contentsOf: $0)) }
        let resultKeys = decoder.model.services[fixture.service]?.operations[fixture.operation]?.resultKeys ?? []
        var result: JSONValue
        if resultKeys.isEmpty {
            result = decoded[0]
        } else {
            var members: [(String, JSONValue)] = []
            for key in resultKeys {
                let lists = decoded.compactMap { $0[key] }
                if !lists.isEmpty { members.append((key, .array(lists.flatMap(\.arrayValue)))) }
            }
            result = .object(members)
        }
        let protocolName = decoder.model.services[fixture.service]?.protocol ?? ""
        let expectedText: Data
        if protocolName == "json" || protocolName == "rest-json" {
            // The CLI prints epoch numbers; cloudspool documents hold ISO 8601: ask the oracle for that form.
            let root = Self.folder.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            expectedText = try runProgram("/usr/bin/env", ["python3", "-B", root.appendingPathComponent("tools/reference_parse.py").path,
                                                           fixture.service, fixture.operation] + pages.map(\.path) + ["--epoch-iso"])
        } else {
            expectedText = try Data(contentsOf: Self.folder.appendingPathComponent(fixture.path + ".cli.json"))
        }
        let expected = expectedText.allSatisfy({ $0 == 10 || $0 == 32 }) ? JSONValue.object([]) : try JSONValueParser.parse(Array(expectedText))
        #expect(result == expected, "\(fixture.path): got \(result.jsonText.prefix(400))")
    }

    @Test func epochTimestamps() {
        #expect(AWSResponseDecoder.epochISO(1_600_721_744.488, text: "1600721744.488") == "2020-09-21T20:55:44.488Z")
        #expect(AWSResponseDecoder.epochISO(1_795_860_861, text: "1.795860861E9") == "2026-11-28T10:14:21Z")
    }
}
