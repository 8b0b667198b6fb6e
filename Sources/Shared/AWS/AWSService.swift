/// An AWS service cloudspool calls: its signing name, endpoint host and the
/// name used in `AWS_ENDPOINT_URL_<NAME>`.
public struct AWSService: Sendable, Hashable {
    /// The SigV4 signing name (`s3`, `sts`, `ec2`, ...).
    public let signingName: String
    /// The first label of the endpoint host.
    public let endpointPrefix: String
    /// The `AWS_ENDPOINT_URL_<NAME>` suffix (the service id, upper-cased, spaces as `_`).
    public let environmentName: String
    /// The host of a service with one global endpoint (IAM, Organizations), signed for us-east-1.
    public let globalHost: String?

    public init(signingName: String, endpointPrefix: String, environmentName: String, globalHost: String? = nil) {
        self.signingName = signingName
        self.endpointPrefix = endpointPrefix
        self.environmentName = environmentName
        self.globalHost = globalHost
    }

    /// Whether the service has one global endpoint.
    public var isGlobal: Bool { globalHost != nil }

    public static let s3 = AWSService(signingName: "s3", endpointPrefix: "s3", environmentName: "S3")
    public static let sts = AWSService(signingName: "sts", endpointPrefix: "sts", environmentName: "STS")
    public static let ec2 = AWSService(signingName: "ec2", endpointPrefix: "ec2", environmentName: "EC2")
    public static let rds = AWSService(signingName: "rds", endpointPrefix: "rds", environmentName: "RDS")
    public static let cloudwatch = AWSService(signingName: "monitoring", endpointPrefix: "monitoring", environmentName: "CLOUDWATCH")
    public static let backup = AWSService(signingName: "backup", endpointPrefix: "backup", environmentName: "BACKUP")
    public static let sqs = AWSService(signingName: "sqs", endpointPrefix: "sqs", environmentName: "SQS")
    public static let cloudtrail = AWSService(signingName: "cloudtrail", endpointPrefix: "cloudtrail", environmentName: "CLOUDTRAIL")
    public static let organizations = AWSService(signingName: "organizations", endpointPrefix: "organizations", environmentName: "ORGANIZATIONS",
                                                 globalHost: "organizations.us-east-1.amazonaws.com")
    public static let iam = AWSService(signingName: "iam", endpointPrefix: "iam", environmentName: "IAM", globalHost: "iam.amazonaws.com")
    /// Amazon OpenSearch Service domains sign with `es`.
    public static let opensearch = AWSService(signingName: "es", endpointPrefix: "es", environmentName: "OPENSEARCH")
}
