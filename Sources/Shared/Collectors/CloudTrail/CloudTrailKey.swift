import Foundation

/// What a CloudTrail log file's S3 key says about it.
///
/// Layouts: `[prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>`
/// (single-account trail) and `[prefix/]AWSLogs/<o-org>/<account>/CloudTrail/…`
/// (organization trail). File names are
/// `<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<random>.json.gz`.
public struct CloudTrailKey: Sendable, Equatable {
    public let key: String
    public let organization: String?
    public let account: String
    public let region: String
    /// The folder day (UTC midnight).
    public let day: Date
    /// The delivery time in the file name, or the folder day when the name has none.
    public let deliveredAt: Date

    /// Parses `key`; nil when it is not a CloudTrail log file (digests, `ConfigWritabilityCheckFile`, other objects).
    public init?(key: String) {
        guard key.hasSuffix(".json.gz"), !key.contains("CloudTrail-Digest"), !key.hasSuffix("ConfigWritabilityCheckFile"),
              let logs = key.range(of: "AWSLogs/", options: .backwards) else { return nil }
        let parts = key[logs.upperBound...].split(separator: "/", omittingEmptySubsequences: false)
        var i = 0
        var organization: String?
        if parts.count > 0, parts[0].hasPrefix("o-") {
            organization = String(parts[0])
            i = 1
        }
        guard parts.count == i + 7, AccountID.isValid(parts[i]), parts[i + 1] == "CloudTrail",
              let day = UTCDate.parseDay("\(parts[i + 3])-\(parts[i + 4])-\(parts[i + 5])") else { return nil }
        self.key = key
        self.organization = organization
        self.account = String(parts[i])
        self.region = String(parts[i + 2])
        self.day = day
        self.deliveredAt = Self.deliveryTime(fileName: parts[i + 6]) ?? day
    }

    /// A digest file's key: `[prefix/]AWSLogs/[<o-org>/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/`
    /// `<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz`;
    /// `deliveredAt` is the digest's end time in its name. Nil for any other key.
    public init?(digestKey key: String) {
        guard key.hasSuffix(".json.gz"), let logs = key.range(of: "AWSLogs/", options: .backwards) else { return nil }
        let parts = key[logs.upperBound...].split(separator: "/", omittingEmptySubsequences: false)
        var i = 0
        var organization: String?
        if parts.count > 0, parts[0].hasPrefix("o-") {
            organization = String(parts[0])
            i = 1
        }
        guard parts.count == i + 7, AccountID.isValid(parts[i]), parts[i + 1] == "CloudTrail-Digest",
              parts[i + 6].hasPrefix("\(parts[i])_CloudTrail-Digest_\(parts[i + 2])_"),
              let day = UTCDate.parseDay("\(parts[i + 3])-\(parts[i + 4])-\(parts[i + 5])"),
              let end = Self.deliveryTime(fileName: parts[i + 6]) else { return nil }
        self.key = key
        self.organization = organization
        self.account = String(parts[i])
        self.region = String(parts[i + 2])
        self.day = day
        self.deliveredAt = end
    }

    /// A log file's or a digest file's key.
    public init?(anyKey key: String) {
        if let log = CloudTrailKey(key: key) { self = log } else if let digest = CloudTrailKey(digestKey: key) { self = digest } else { return nil }
    }

    /// `…_20261128T1015Z_…` (log files) or `…_20261128T101500Z…` (digest files) -> that instant.
    static func deliveryTime(fileName: Substring) -> Date? {
        let name = fileName.hasSuffix(".json.gz") ? fileName.dropLast(8) : fileName
        for field in name.split(separator: "_") where (field.count == 14 || field.count == 16) && field.hasSuffix("Z") {
            let s = Array(field.utf8)
            guard s[8] == UInt8(ascii: "T") else { continue }
            func n(_ a: Int, _ len: Int) -> Int? { Int(String(decoding: s[a..<(a + len)], as: UTF8.self)) }
            let second = s.count == 16 ? n(13, 2) : 0
            guard let y = n(0, 4), let m = n(4, 2), let d = n(6, 2), let h = n(9, 2), let mi = n(11, 2), let second,
                  (1...12).contains(m), (1...31).contains(d), h < 24, mi < 60, second < 60 else { continue }
            return UTCDate.date(UTCDate.Parts(year: y, month: m, day: d, hour: h, minute: mi, second: second, fraction: ""))
        }
        return nil
    }
}
