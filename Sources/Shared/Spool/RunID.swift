import Foundation
import Synchronization

/// The name of one run: `YYYYMMDDTHHMMSSZ-<8 hex>`, sorting in time order.
///
/// The suffix orders runs within their second: its top 10 bits are the
/// millisecond, the other 22 are random (two hosts starting in the same
/// millisecond still get different names), and within one process every new
/// name sorts after the previous one, so two runs made in the same second by
/// one fetch (two billing revisions) are transformed in the order they were made.
public struct RunID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: String

    /// A new name for a run starting at `date`, after every name this process made before.
    public init(date: Date) {
        self.init(date: date, suffix: Self.orderedSuffix(date))
    }

    /// A name with a given suffix (tests, and names read back).
    public init(date: Date, suffix: UInt32) {
        let hex = String(suffix, radix: 16)
        value = UTCDate.basic(date) + "-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// The second and suffix of the last name this process made.
    private static let last = Mutex<(second: Int64, suffix: UInt32)>((0, 0))

    /// The millisecond of `date` in the top 10 bits, random below; above the last suffix of the same second.
    static func orderedSuffix(_ date: Date, random: UInt32 = UInt32.random(in: 0..<(1 << 22))) -> UInt32 {
        let seconds = date.timeIntervalSince1970
        let second = Int64(floor(seconds))
        let millisecond = UInt32(min(999, max(0, Int(((seconds - Double(second)) * 1000).rounded()))))
        var suffix = millisecond << 22 | (random & 0x3f_ffff)
        last.withLock { last in
            if last.second == second, suffix <= last.suffix, last.suffix < UInt32.max {
                suffix = last.suffix + 1
            }
            last = (second, suffix)
        }
        return suffix
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
