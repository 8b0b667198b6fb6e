import Foundation

/// The IAM users collector.
public struct IAMSettings: Sendable {
    /// A user with no activity for more than this many days is inactive.
    public let inactiveDays: Int
    /// Seconds to wait for AWS to finish a credential report.
    public let reportTimeoutSeconds: Int

    init(reader: inout ConfigNodeReader) throws {
        inactiveDays = try reader.int("inactive_days", default: 90, range: 1...3650)
        reportTimeoutSeconds = try reader.int("report_timeout_seconds", default: 120, range: 5...3600)
    }
}
