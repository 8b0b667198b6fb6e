import Foundation

/// Where a report's manifest for a billing period is, in both layouts.
public struct CURLayout: Sendable {
    public let prefix: String
    public let reportName: String

    public init(prefix: String, reportName: String) {
        self.prefix = prefix
        self.reportName = reportName
    }

    /// The first day of the month `monthsBack` months before `now`'s month (UTC).
    public static func periodStart(monthsBack: Int, from now: Date) -> Date {
        let p = UTCDate.parts(now)
        var month = p.month - monthsBack
        var year = p.year
        while month < 1 { month += 12; year -= 1 }
        return UTCDate.date(UTCDate.Parts(year: year, month: month, day: 1, hour: 0, minute: 0, second: 0, fraction: ""))
    }

    /// `<prefix><report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json` (the period's latest manifest).
    public func legacyManifestKey(periodStart: Date) -> String {
        let start = UTCDate.parts(periodStart)
        let end = UTCDate.parts(Self.periodStart(monthsBack: -1, from: periodStart))
        let range = "\(UTCDate.pad(start.year, 4))\(UTCDate.pad(start.month))01-\(UTCDate.pad(end.year, 4))\(UTCDate.pad(end.month))01"
        return "\(prefix)\(reportName)/\(range)/\(reportName)-Manifest.json"
    }

    /// `<prefix><export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`.
    public func cur2ManifestKey(periodStart: Date) -> String {
        let p = UTCDate.parts(periodStart)
        return "\(prefix)\(reportName)/metadata/BILLING_PERIOD=\(UTCDate.pad(p.year, 4))-\(UTCDate.pad(p.month))/\(reportName)-Manifest.json"
    }
}
