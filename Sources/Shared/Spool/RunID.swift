import Foundation

/// The name of one run: `YYYYMMDDTHHMMSSZ-<8 hex>`, sorting in time order.
public struct RunID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: String

    public init(date: Date, suffix: UInt32 = UInt32.random(in: 0...UInt32.max)) {
        let hex = String(suffix, radix: 16)
        value = UTCDate.basic(date) + "-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, parts[0].count == 16, parts[1].count == 8 else { return nil }
        value = text
    }

    public var description: String { value }
    public static func < (a: RunID, b: RunID) -> Bool { a.value < b.value }

    /// The start time encoded in the name.
    public var date: Date? {
        let s = Array(value.utf8)
        func n(_ i: Int, _ len: Int) -> Int? { Int(String(decoding: s[i..<(i + len)], as: UTF8.self)) }
        guard let y = n(0, 4), let m = n(4, 2), let d = n(6, 2), let h = n(9, 2), let mi = n(11, 2), let se = n(13, 2) else { return nil }
        return UTCDate.date(UTCDate.Parts(year: y, month: m, day: d, hour: h, minute: mi, second: se, fraction: ""))
    }
}
