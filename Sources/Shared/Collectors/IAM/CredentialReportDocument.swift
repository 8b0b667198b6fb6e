import Foundation

/// Turns one row of an IAM credential report into the user's document:
/// every column typed (`true`/`false` as booleans, times as ISO 8601 dates,
/// `N/A`, `no_information` and `not_supported` left out with the reason kept
/// in `<column>_reason`), the login methods configured, and the activity
/// figures: last activity, days since, never used, inactive.
struct CredentialReportDocument {
    static let absentMarkers: Set<String> = ["N/A", "no_information", "not_supported"]
    static let stringColumns: Set<String> = ["user", "arn", "access_key_1_last_used_region", "access_key_1_last_used_service",
                                             "access_key_2_last_used_region", "access_key_2_last_used_service"]

    /// The typed report columns of a row (`header` names, `values` in order).
    static func typedColumns(header: [String], values: [String]) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = []
        for (name, raw) in zip(header, values) {
            if absentMarkers.contains(raw) {
                out.append((name + "_reason", .string(raw)))
                continue
            }
            if raw.isEmpty { continue }
            if stringColumns.contains(name) {
                out.append((name, .string(raw)))
            } else if raw == "true" || raw == "false" {
                out.append((name, .bool(raw == "true")))
            } else if let time = Timestamp.parse(Array(raw.utf8)[...]) {
                out.append((name, .string(time.canonical)))
            } else {
                out.append((name, .string(raw)))
            }
        }
        return out
    }

    /// The whole document of a user.
    static func build(account: String, accountName: String?, header: [String], values: [String], groups: [String], user: JSONValue?,
                      asOf: Date, inactiveDays: Int, runID: String, rawFile: String? = nil) -> JSONValue {
        let columns = typedColumns(header: header, values: values)
        func column(_ name: String) -> JSONValue? { columns.first { $0.0 == name }?.1 }
        func date(_ name: String) -> Date? { column(name)?.stringValue.flatMap(UTCDate.parseISO8601) }
        func days(since date: Date?) -> JSONValue? {
            date.map { .int(Int64(floor(asOf.timeIntervalSince($0) / 86_400))) }
        }
        let name = column("user")?.stringValue ?? ""
        let isRoot = name == "<root_account>"
        var methods: [JSONValue] = []
        let login: [(String, Bool)] = [
            ("console_password", column("password_enabled")?.boolValue ?? false || (isRoot && date("password_last_used") != nil)),
            ("access_key_1", column("access_key_1_active")?.boolValue ?? false),
            ("access_key_2", column("access_key_2_active")?.boolValue ?? false),
            ("mfa", column("mfa_active")?.boolValue ?? false),
            ("certificate_1", column("cert_1_active")?.boolValue ?? false),
            ("certificate_2", column("cert_2_active")?.boolValue ?? false),
        ]
        for (method, enabled) in login where enabled { methods.append(.string(method)) }
        let uses: [(String, Date?)] = [("console_password", date("password_last_used")), ("access_key_1", date("access_key_1_last_used_date")),
                                       ("access_key_2", date("access_key_2_last_used_date"))]
        let last = uses.compactMap { use in use.1.map { (use.0, $0) } }.max { $0.1 < $1.1 }
        let created = date("user_creation_time")
        var activity: [(String, JSONValue)] = []
        if let last {
            activity.append(("last_activity", .string(UTCDate.iso8601(last.1))))
            activity.append(("last_activity_method", .string(last.0)))
            activity.append(("days_since_last_activity", days(since: last.1)!))
        }
        activity.append(("never_used", .bool(last == nil)))
        let idleSince = last?.1 ?? created
        let idleDays = idleSince.map { floor(asOf.timeIntervalSince($0) / 86_400) } ?? 0
        activity.append(("inactive", .bool(idleDays > Double(inactiveDays))))
        activity.append(("inactive_after_days", .int(Int64(inactiveDays))))
        for (method, used) in uses {
            if let value = days(since: used) { activity.append(("days_since_\(method)_used", value)) }
        }
        if let value = days(since: created) { activity.append(("days_since_creation", value)) }

        var userFields: [(String, JSONValue)] = [("name", .string(name)), ("is_root", .bool(isRoot))]
        if let arn = column("arn") { userFields.append(("arn", arn)) }
        if let created = column("user_creation_time") { userFields.append(("creation_time", created)) }
        userFields.append(("groups", .array(groups.map { .string($0) })))
        if let user {
            for key in ["UserId", "Path", "PasswordLastUsed"] { if let v = user[key] { userFields.append((key, v)) } }
        }
        var accountFields: [(String, JSONValue)] = [("id", .string(account))]
        if let accountName { accountFields.append(("name", .string(accountName))) }
        return .object([
            ("@timestamp", .string(UTCDate.iso8601(asOf))),
            ("cloud", .object([("provider", .string("aws")), ("account", .object(accountFields))])),
            ("user", .object(userFields)),
            ("login", .object(login.map { ($0.0, .bool($0.1)) })),
            ("login_methods", .array(methods)),
            ("activity", .object(activity)),
            ("credential_report", .object(columns)),
            ("cloudspool", .object([("collector", .string("iam")), ("run_id", .string(runID))] + (rawFile.map { [("raw_file", JSONValue.string($0))] } ?? [])
                                   + [("as_of", .string(UTCDate.iso8601(asOf)))])),
        ])
    }
}
