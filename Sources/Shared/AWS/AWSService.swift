/// An AWS service cloudspool calls: its signing name, endpoint host and the
/// name used in `AWS_ENDPOINT_URL_<NAME>`.
public struct AWSService: Sendable, Hashable {
    /// The SigV4 signing name (`s3`, `sts`, `ec2`, ...).
    public let signingName: String
    /// The first label of the endpoint host.
    public let endpointPrefix: String
    /// The `AWS_ENDPOINT_URL_<NAME>` suffix (the service id, upper-cased, spaces as `_`).
    public let environmentName: String
    /// Whether the service has one global endpoint (IAM, Organizations).
    public let isGlobal: Bool

    public init(signingName: String, endpointPrefix: String, environmentName: String, isGlobal: Bool = false) {
        self.signingName = signingName
        self.endpointPrefix = endpointPrefix
        self.environmentName = environmentName
        self.isGlobal = isGlobal
    }

    public static let s3 = AWSService(signingName: "s3", endpointPrefix: "s3", environmentName: "S3")
    public static let sts = AWSService(signingName: "sts", endpointPrefix: "sts", environmentName: "STS")
    public static let ec2 = AWSService(signingName: "ec2", endpointPrefix: "ec2", environmentName: "EC2")
    /// Amazon OpenSearch Service domains sign with `es`.
    public static let opensearch = AWSService(signingName: "es", endpointPrefix: "es", environmentName: "OPENSEARCH")
}
