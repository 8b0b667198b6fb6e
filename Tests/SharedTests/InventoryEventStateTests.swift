import Foundation
import Testing
@testable import Shared

@Suite struct InventoryEventStateTests {
    /// The single file of earlier versions is split by unit, read where a unit has no file of its own,
    /// and removed once the units' own files are in place; instances the run did not see are forgotten.
    @Test func legacyFileIsSplitByUnitAndRemovedOncePromoted() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let layout = SpoolLayout(root: folder.path)
        let state = InventoryEventState(layout: layout)
        let a = #"{"EventId":"a","EventName":"StartInstances"}"#
        let b = #"{"EventId":"b","EventName":"StopInstances","Note":"quote \" and \\ backslash"}"#
        try state.legacy.save(.init(instances: [
            "111111111111/eu-west-1/i-1": [a, b],
            "111111111111/eu-west-1/i-gone": [a],
            "222222222222/us-east-1/i-2": [b],
        ]))
        let legacy = try #require(try state.legacyByUnit())
        #expect(Set(legacy.keys) == ["111111111111/eu-west-1", "222222222222/us-east-1"])
        let one = try state.load(account: "111111111111", region: "eu-west-1", legacy: legacy)
        #expect(one["111111111111/eu-west-1/i-1"]?.map(\.jsonText) == [try JSONValueParser.parse(Array(a.utf8)).jsonText,
                                                                      try JSONValueParser.parse(Array(b.utf8)).jsonText])
        #expect(one["222222222222/us-east-1/i-2"] == nil)   // only the unit's own instances

        // The run saw i-1 only in the first unit; the second unit was not in the run.
        #expect(try state.savePending(one, instances: ["111111111111/eu-west-1/i-1"], account: "111111111111", region: "eu-west-1"))
        #expect(try state.load(account: "111111111111", region: "eu-west-1", legacy: nil).isEmpty)   // aside until promoted
        try state.promote([("111111111111", "eu-west-1")])
        #expect(!FileManager.default.fileExists(atPath: state.legacy.url.path))
        #expect(!FileManager.default.fileExists(atPath: state.units.pendingFolder.path))
        let after = try state.load(account: "111111111111", region: "eu-west-1", legacy: nil)
        #expect(Set(after.keys) == ["111111111111/eu-west-1/i-1"])
        #expect(after["111111111111/eu-west-1/i-1"]?.count == 2)
    }

    /// A unit with no instances and no file writes nothing; one whose instances are all gone writes an
    /// empty file, so their events are forgotten.
    @Test func emptyUnitsWriteOnlyWhenSomethingWasKnown() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let state = InventoryEventState(layout: SpoolLayout(root: folder.path))
        #expect(try !state.savePending([:], instances: [], account: "111111111111", region: "eu-west-1"))
        try state.units.save(.init(instances: ["111111111111/eu-west-1/i-1": ["{}"]]), account: "111111111111", region: "eu-west-1")
        #expect(try state.savePending([:], instances: [], account: "111111111111", region: "eu-west-1"))
        try state.promote([("111111111111", "eu-west-1")])
        #expect(try state.load(account: "111111111111", region: "eu-west-1", legacy: nil).isEmpty)
        #expect(state.units.exists(account: "111111111111", region: "eu-west-1"))
    }
}
