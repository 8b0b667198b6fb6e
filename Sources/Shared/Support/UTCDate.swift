import Foundation

/// Calendar arithmetic and formatting in UTC, without locale or time-zone surprises.
///
/// Formatting is done by hand: it runs once per document in transform, where
/// `DateFormatter` would dominate the profile.
public enum UTCDate {
    /// A civil UTC date and time split into fields.
    public struct Parts: Sendable, Equatable {
        public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
        /// Fraction digits as written (empty when none).
        public var fraction: String
    }

    public static func parts(_ date: Date) -> Parts {
        let total = Int(floor(date.timeIntervalSince1970))
        var days = total / 86_400
        var rem = total % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        return Parts(year: y, month: m, day: d, hour: rem / 3600, minute: (rem % 3600) / 60, second: rem % 60, fraction: "")
    }

    /// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// (year, month, day) to days since 1970-01-01.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func date(_ p: Parts) -> Date {
        let seconds = days(year: p.year, month: p.month, day: p.day) * 86_400 + p.hour * 3600 + p.minute * 60 + p.second
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Parses `YYYY-MM-DD` as the start of that UTC day.
    public static func parseDay(_ text: String) -> Date? {
        let f = text.split(separator: "-", omittingEmptySubsequences: false)
        guard f.count == 3, f[0].count == 4, f[1].count == 2, f[2].count == 2,
              let y = Int(f[0]), let m = Int(f[1]), let d = Int(f[2]),
              (1...12).contains(m), d >= 1, d <= daysInMonth(year: y, month: m) else { return nil }
        return date(Parts(year: y, month: m, day: d, hour: 0, minute: 0, second: 0, fraction: ""))
    }

    /// `2026-11-28T10:15:00Z`
    public static func iso8601(_ date: Date) -> String {
        let p = parts(date)
        return "\(pad(p.year, 4))-\(pad(p.month))-\(pad(p.day))T\(pad(p.hour)):\(pad(p.minute)):\(pad(p.second))Z"
    }

    /// `20261128T101500Z`, the SigV4 and run-id form.
    public static func basic(_ date: Date) -> String {
        let p = parts(date)
        return "\(pad(p.year, 4))\(pad(p.month))\(pad(p.day))T\(pad(p.hour))\(pad(p.minute))\(pad(p.second))Z"
    }

    /// `2026/11/28`, the CloudTrail folder form.
    public static func slashedDay(_ date: Date) -> String {
        let p = parts(date)
        return "\(pad(p.year, 4))/\(pad(p.month))/\(pad(p.day))"
    }

    /// `2026-11-28`
    public static func day(_ date: Date) -> String {
        let p = parts(date)
        return "\(pad(p.year, 4))-\(pad(p.month))-\(pad(p.day))"
    }

    static func pad(_ value: Int, _ width: Int = 2) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Parses an ISO 8601 timestamp (`2026-11-28T10:15:00Z`, fractions, `+hh:mm` offsets).
    public static func parseISO8601(_ text: String) -> Date? {
        Timestamp.parse(Array(text.utf8)[...]).map { $0.date }
    }
}

/// A validated ISO 8601 timestamp, converted to UTC, as transform needs it:
/// the instant, the canonical text and the UTC day.
public struct Timestamp: Sendable, Equatable {
    public let parts: UTCDate.Parts
    public var date: Date {
        var d = UTCDate.date(parts)
        if let f = Double("0." + (parts.fraction.isEmpty ? "0" : parts.fraction)) { d += f }
        return d
    }

    /// `2026-11-27T23:59:58Z` (fraction kept as written).
    public var canonical: String {
        let p = parts
        let frac = p.fraction.isEmpty ? "" : "." + p.fraction
        return "\(UTCDate.pad(p.year, 4))-\(UTCDate.pad(p.month))-\(UTCDate.pad(p.day))T\(UTCDate.pad(p.hour)):\(UTCDate.pad(p.minute)):\(UTCDate.pad(p.second))\(frac)Z"
    }

    /// Appends `canonical` as bytes, without building a string (the hot path of transform).
    public func appendCanonical(to out: inout [UInt8]) {
        let p = parts
        Self.digits(p.year, 4, &out); out.append(45)
        Self.digits(p.month, 2, &out); out.append(45)
        Self.digits(p.day, 2, &out); out.append(84)
        Self.digits(p.hour, 2, &out); out.append(58)
        Self.digits(p.minute, 2, &out); out.append(58)
        Self.digits(p.second, 2, &out)
        if !p.fraction.isEmpty {
            out.append(46)
            out.append(contentsOf: p.fraction.utf8)
        }
        out.append(90)
    }

    /// Appends `indexDay` (`2026.11.27`) as bytes.
    public func appendIndexDay(to out: inout [UInt8]) {
        Self.digits(parts.year, 4, &out); out.append(46)
        Self.digits(parts.month, 2, &out); out.append(46)
        Self.digits(parts.day, 2, &out)
    }

    @inline(__always)
    static func digits(_ value: Int, _ width: Int, _ out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var v = value
        if v >= divisor * 10 { out.append(contentsOf: String(value).utf8); return }
        while divisor > 0 {
            out.append(UInt8(48 + v / divisor))
            v %= divisor
            divisor /= 10
        }
    }

    /// `2026.11.27`, the daily index suffix.
    public var indexDay: String {
        "\(UTCDate.pad(parts.year, 4)).\(UTCDate.pad(parts.month)).\(UTCDate.pad(parts.day))"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.f+](Z|±HH:MM)` strictly.
    public static func parse<Bytes: RandomAccessCollection>(_ b: Bytes) -> Timestamp? where Bytes.Element == UInt8, Bytes.Index == Int {
        let s = b.startIndex
        func num(_ i: Int, _ n: Int) -> Int? {
            guard i + n <= b.endIndex else { return nil }
            var v = 0
            for k in i..<(i + n) {
                let c = b[k]
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard b.count >= 20,
              let y = num(s, 4), b[s + 4] == 45, let mo = num(s + 5, 2), b[s + 7] == 45, let d = num(s + 8, 2),
              b[s + 10] == 84 || b[s + 10] == 116 || b[s + 10] == 32,
              let h = num(s + 11, 2), b[s + 13] == 58, let mi = num(s + 14, 2), b[s + 16] == 58, let se = num(s + 17, 2),
              (1...12).contains(mo), d >= 1, d <= UTCDate.daysInMonth(year: y, month: mo), h < 24, mi < 60, se < 61
        else { return nil }
        var i = s + 19
        var fraction = ""
        if i < b.endIndex && b[i] == 46 {
            i += 1
            let start = i
            while i < b.endIndex && b[i] >= 48 && b[i] <= 57 { i += 1 }
            guard i > start, i - start <= 9 else { return nil }
            fraction = String(decoding: b[start..<i], as: UTF8.self)
        }
        guard i < b.endIndex else { return nil }
        var offset = 0
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45 {
            let sign = b[i] == 43 ? 1 : -1
            guard let oh = num(i + 1, 2), i + 3 < b.endIndex, b[i + 3] == 58, let om = num(i + 4, 2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
            i += 6
        } else {
            return nil
        }
        guard i == b.endIndex else { return nil }
        var parts = UTCDate.Parts(year: y, month: mo, day: d, hour: h, minute: mi, second: min(se, 59), fraction: fraction)
        if offset != 0 {
            var utc = UTCDate.parts(UTCDate.date(parts).addingTimeInterval(TimeInterval(-offset)))
            utc.fraction = fraction
            parts = utc
        }
        return Timestamp(parts: parts)
    }
}
