import Foundation

/// How cloudspool reaches AWS.
public struct AWSSettings: Sendable {
    /// Region for calls not tied to an account/region of their own.
    public let region: String
    /// Named profile of the shared config; nil uses the standard chain.
    public let profile: String?
    /// Extra CA bundle (PEM) for TLS to AWS.
    public let caBundle: String?
    /// Whether TLS certificates are verified (default true).
    public let tlsVerify: Bool
    /// Seconds before a stalled request is abandoned.
    public let timeoutSeconds: Int
    /// Retries of throttled, 5xx and network-failed calls.
    public let maxRetries: Int
    /// S3 addressing: auto, path or virtual.
    public let s3Addressing: String

    init(reader: inout ConfigNodeReader) throws {
        region = try reader.string("region", default: "us-east-1")
        profile = try reader.string("profile")
        caBundle = try reader.string("ca_bundle")
        tlsVerify = try reader.bool("tls_verify", default: true)
        timeoutSeconds = try reader.int("timeout_seconds", default: 60, range: 1...3600)
        maxRetries = try reader.int("max_retries", default: 5, range: 0...50)
        s3Addressing = try reader.choice("s3_addressing", default: "auto", allowed: ["auto", "path", "virtual"])
    }
}
