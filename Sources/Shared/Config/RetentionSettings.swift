import Foundation

/// How long finished work is kept in the spool.
public struct RetentionSettings: Sendable {
    public let rawDays: Int
    public let ndjsonDays: Int

    init(reader: inout ConfigNodeReader) throws {
        rawDays = try reader.int("raw_days", default: 30, range: 0...36_500)
        ndjsonDays = try reader.int("ndjson_days", default: 7, range: 0...36_500)
    }
}
