import Foundation

/// A set of AWS credentials. Its description never shows the secret or the
/// token, so it can be logged or put in an error safely.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    public let accessKeyId: String
    public let secretAccessKey: String
    public let sessionToken: String?
    /// When temporary credentials stop working; nil for long-term keys.
    public let expiration: Date?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// Whether these credentials expire within `margin` seconds of `now`.
    public func expires(within margin: TimeInterval, of now: Date) -> Bool {
        guard let expiration else { return false }
        return expiration.timeIntervalSince(now) <= margin
    }

    public var description: String {
        let masked = accessKeyId.count > 8 ? String(accessKeyId.prefix(4)) + "…" + String(accessKeyId.suffix(4)) : "…"
        return "AWSCredentials(accessKeyId: \(masked), secret: <redacted>\(sessionToken == nil ? "" : ", token: <redacted>"))"
    }
}
