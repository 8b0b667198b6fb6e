import Foundation

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
public struct EnvironmentCredentialProvider: CredentialProvider {
    let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public var name: String { "environment" }

    public func credentials(now: Date) throws -> AWSCredentials? {
        let id = environment["AWS_ACCESS_KEY_ID"] ?? ""
        let secret = environment["AWS_SECRET_ACCESS_KEY"] ?? environment["AWS_SECRET_KEY"] ?? ""
        if id.isEmpty && secret.isEmpty { return nil }
        guard !id.isEmpty, !secret.isEmpty else {
            throw CloudspoolError(.credentials, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (only one of them is set)")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token)
    }
}
