import Foundation

/// Credentials of the EC2 instance role, through IMDSv2 (a session token
/// first, then the role's credentials).
///
/// `AWS_EC2_METADATA_DISABLED=true` turns it off; `AWS_EC2_METADATA_SERVICE_ENDPOINT`
/// points it elsewhere (tests use a loopback server).
public struct InstanceMetadataCredentialProvider: CredentialProvider {
    let endpoint: String
    let disabled: Bool

    public init(environment: [String: String]) {
        var endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
        if endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        self.disabled = environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
    }

    public var name: String { "EC2 instance role (IMDSv2)" }

    public func credentials(now: Date) throws -> AWSCredentials? {
        if disabled { return nil }
        let http = try HTTPClient(configuration: HTTPClientConfiguration(connectTimeoutSeconds: 1, stallTimeoutSeconds: 2, totalTimeoutSeconds: 3))
        let tokenResponse: HTTPResponse
        do {
            tokenResponse = try http.send(HTTPRequest(method: "PUT", url: endpoint + "/latest/api/token",
                                                      headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]))
        } catch is HTTPClientError {
            return nil   // not on EC2
        }
        guard tokenResponse.status == 200 else { return nil }
        let token = String(decoding: tokenResponse.body, as: UTF8.self)
        let headers = [(name: "X-aws-ec2-metadata-token", value: token)]
        let roles = try http.send(HTTPRequest(method: "GET", url: endpoint + "/latest/meta-data/iam/security-credentials/", headers: headers))
        guard roles.status == 200, let role = String(decoding: roles.body, as: UTF8.self).split(separator: "\n").first else {
            throw CloudspoolError(.credentials, "this EC2 instance has no IAM role attached (instance metadata answered HTTP \(roles.status)); attach a role or configure credentials")
        }
        let answer = try http.send(HTTPRequest(method: "GET", url: endpoint + "/latest/meta-data/iam/security-credentials/" + AWSURIEncoding.encode(role), headers: headers))
        guard answer.status == 200,
              let json = try JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
              let id = json["AccessKeyId"] as? String, let secret = json["SecretAccessKey"] as? String else {
            throw CloudspoolError(.credentials, "instance metadata gave no usable credentials for role \(role) (HTTP \(answer.status))")
        }
        if let code = json["Code"] as? String, code != "Success" {
            throw CloudspoolError(.credentials, "instance metadata refused credentials for role \(role): \(code)")
        }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: json["Token"] as? String,
                              expiration: (json["Expiration"] as? String).flatMap(UTCDate.parseISO8601))
    }
}
