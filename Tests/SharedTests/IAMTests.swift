import Foundation
import Testing
@testable import Shared

@Suite struct CredentialReportDocumentTests {
    static let header = ["user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
                         "password_next_rotation", "mfa_active", "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
                         "access_key_1_last_used_region", "access_key_1_last_used_service", "access_key_2_active", "access_key_2_last_rotated",
                         "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service", "cert_1_active",
                         "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"]
    let asOf = UTCDate.parseISO8601("2026-11-28T12:00:00Z")!

    func row(_ values: [String: String]) -> [String] {
        Self.header.map { values[$0] ?? "N/A" }
    }

    func document(_ values: [String: String]) -> JSONValue {
        CredentialReportDocument.build(account: "111111111111", accountName: "prod", header: Self.header, values: row(values), groups: ["admins"],
                                       user: nil, asOf: asOf, inactiveDays: 90, runID: "r")
    }

    @Test func activeUserWithPasswordAndKey() {
        let doc = document(["user": "alice", "user_creation_time": "2025-01-01T00:00:00+00:00", "password_enabled": "true",
                            "password_last_used": "2026-11-20T08:00:00+00:00", "access_key_1_active": "true",
                            "access_key_1_last_used_date": "2026-11-27T12:00:00+00:00", "mfa_active": "true", "access_key_2_active": "false"])
        #expect(doc["login_methods"] == .array([.string("console_password"), .string("access_key_1"), .string("mfa")]))
        #expect(doc.path("activity") == .object([
            ("last_activity", .string("2026-11-27T12:00:00Z")), ("last_activity_method", .string("access_key_1")),
            ("days_since_last_activity", .int(1)), ("never_used", .bool(false)), ("inactive", .bool(false)), ("inactive_after_days", .int(90)),
            ("days_since_console_password_used", .int(8)), ("days_since_access_key_1_used", .int(1)), ("days_since_creation", .int(696)),
        ]))
        #expect(doc.path("credential_report", "password_enabled") == .bool(true))
        #expect(doc.path("credential_report", "password_last_used") == .string("2026-11-20T08:00:00Z"))
        #expect(doc.path("credential_report", "access_key_2_last_used_date") == nil)
        #expect(doc.path("credential_report", "access_key_2_last_used_date_reason") == .string("N/A"))
        #expect(doc.path("user", "groups") == .array([.string("admins")]))
        #expect(doc.path("cloud", "account", "name") == .string("prod"))
    }

    @Test func inactiveAndNeverUsed() {
        let idle = document(["user": "old", "user_creation_time": "2024-01-01T00:00:00+00:00", "password_enabled": "true",
                             "password_last_used": "2026-05-01T00:00:00+00:00"])
        #expect(idle.path("activity", "inactive") == .bool(true))
        #expect(idle.path("activity", "days_since_last_activity") == .int(211))
        let never = document(["user": "svc", "user_creation_time": "2026-01-01T00:00:00+00:00", "password_enabled": "false",
                              "password_last_used": "no_information"])
        #expect(never.path("activity", "never_used") == .bool(true))
        #expect(never.path("activity", "inactive") == .bool(true))
        #expect(never.path("credential_report", "password_last_used_reason") == .string("no_information"))
        let fresh = document(["user": "new", "user_creation_time": "2026-11-01T00:00:00+00:00"])
        #expect(fresh.path("activity", "inactive") == .bool(false))
    }

    @Test func rootAccountIsMarked() {
        let root = document(["user": "<root_account>", "password_enabled": "not_supported", "password_last_used": "2026-11-01T00:00:00+00:00"])
        #expect(root.path("user", "is_root") == .bool(true))
        #expect(root.path("credential_report", "password_enabled_reason") == .string("not_supported"))
        #expect(root["login_methods"] == .array([.string("console_password")]))
    }
}
