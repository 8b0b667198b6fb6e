import Foundation
import Testing
@testable import Shared

@Suite struct EventTimeNormalisationTests {
    let builder = CloudTrailDocumentBuilder(indexStem: "awscli-trail")

    func build(_ record: String) throws -> String {
        var out: [UInt8] = []
        let bytes = Array(record.utf8)
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { raw.deallocate() }
        raw.copyBytes(from: bytes)
        try builder.append(record: UnsafeRawBufferPointer(raw), fileKey: "k", account: "111111111111", region: "eu-west-1", to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func aSpacedTimeIsWrittenInStrictISOAndKeptAsWritten() throws {
        let out = try build(#"{"eventTime":"2021-05-20 15:53:47Z","eventID":"e1","eventName":"X"}"#)
        #expect(out == """
        {"index":{"_index":"awscli-trail-2021.05.20","_id":"e1"}}
        {"@timestamp":"2021-05-20T15:53:47Z","cloud":{"provider":"aws","account":{"id":"111111111111"},"region":"eu-west-1"},"cloudspool":{"log_file":"k","event_time_as_written":"2021-05-20 15:53:47Z"},"eventTime":"2021-05-20T15:53:47Z","eventID":"e1","eventName":"X"}

        """)
    }

    @Test func anOffsetIsWrittenInUTC() throws {
        let out = try build(#"{"eventID":"e1","eventTime":"2021-05-20T17:53:47+02:00"}"#)
        #expect(out.contains(#""eventTime":"2021-05-20T15:53:47Z"}"#))
    }

    @Test func yearZeroIsRejectedWithItsReason() {
        #expect(throws: CloudTrailDocumentBuilder.Rejection.self) {
            try build(#"{"eventTime":"0000-01-01T00:30:00+01:00","eventID":"e1"}"#)
        }
    }
}

@Suite struct UTF8RepairTests {
    @Test(arguments: [
        ([0x61, 0xFF, 0x62], [0x61, 0xEF, 0xBF, 0xBD, 0x62], 1),
        ([0xC3, 0x28], [0xEF, 0xBF, 0xBD, 0x28], 1),
        ([0xED, 0xA0, 0x80], [0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD, 0xEF, 0xBF, 0xBD], 3),   // a surrogate
        ([0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80], [0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80], 0),
    ] as [([UInt8], [UInt8], Int)])
    func repairsOnlyWhatIsInvalid(_ input: [UInt8], _ expected: [UInt8], _ replaced: Int) {
        input.withUnsafeBytes { raw in
            #expect(UTF8Repair.isValid(raw) == (replaced == 0))
            let result = UTF8Repair.repaired(raw)
            #expect(result.bytes == expected)
            #expect(result.replaced == replaced)
        }
    }
}
