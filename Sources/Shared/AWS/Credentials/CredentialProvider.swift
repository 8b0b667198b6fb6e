import Foundation

/// A source of AWS credentials: the environment, a profile, an assumed role, the EC2 instance role.
///
/// `credentials(now:)` returns nil when the source is not configured at all
/// (so a chain moves on to the next) and throws when it is configured but
/// fails (so a broken setup is reported, not skipped).
public protocol CredentialProvider: Sendable {
    /// A short name for messages ("environment", "profile 111111111222", ...).
    var name: String { get }
    func credentials(now: Date) throws -> AWSCredentials?
    /// Forgets cached credentials, after AWS said they expired.
    func invalidate()
}

extension CredentialProvider {
    public func invalidate() {}

    /// Credentials, or an error saying which source had none.
    public func require(now: Date) throws -> AWSCredentials {
        guard let credentials = try credentials(now: now) else {
            throw CloudspoolError(.credentials, "no AWS credentials found (\(name)): set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/config, or run on EC2 with an instance role")
        }
        return credentials
    }
}

/// Tries providers in order and sticks with the first that has credentials,
/// as the AWS SDKs do.
public final class CredentialProviderChain: CredentialProvider, @unchecked Sendable {
    public let providers: [any CredentialProvider]
    private let lock = NSLock()
    private var chosen: (any CredentialProvider)?

    public init(_ providers: [any CredentialProvider]) {
        self.providers = providers
    }

    public var name: String {
        "chain: " + providers.map(\.name).joined(separator: ", ")
    }

    public func credentials(now: Date) throws -> AWSCredentials? {
        if let chosen = lock.withLock({ chosen }) {
            return try chosen.credentials(now: now)
        }
        for provider in providers {
            if let credentials = try provider.credentials(now: now) {
                lock.withLock { chosen = provider }
                return credentials
            }
        }
        return nil
    }

    public func invalidate() {
        lock.withLock { chosen }?.invalidate()
    }

    /// The provider that gave the credentials (after a first `credentials(now:)`).
    public var chosenName: String? {
        lock.withLock { chosen }?.name
    }
}

/// Caches what another provider returns until shortly before it expires, so
/// a run of hours renews temporary credentials before any call fails.
public final class CachingCredentialProvider: CredentialProvider, @unchecked Sendable {
    public let base: any CredentialProvider
    /// Renew this many seconds before expiry.
    public let refreshMargin: TimeInterval
    private let lock = NSLock()
    private var cached: AWSCredentials?

    public init(_ base: any CredentialProvider, refreshMargin: TimeInterval = 300) {
        self.base = base
        self.refreshMargin = refreshMargin
    }

    public var name: String { base.name }

    public func credentials(now: Date) throws -> AWSCredentials? {
        lock.lock()
        defer { lock.unlock() }
        if let cached, !cached.expires(within: refreshMargin, of: now) {
            return cached
        }
        cached = try base.credentials(now: now)
        return cached
    }

    public func invalidate() {
        lock.withLock { cached = nil }
        base.invalidate()
    }
}

/// Fixed credentials (long-term keys from a file, or given by a test).
public struct StaticCredentialProvider: CredentialProvider {
    public let name: String
    let value: AWSCredentials

    public init(name: String, credentials: AWSCredentials) {
        self.name = name
        self.value = credentials
    }

    public func credentials(now: Date) throws -> AWSCredentials? { value }
}
