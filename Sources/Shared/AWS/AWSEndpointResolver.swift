/// Finds the base URL of a service in a region.
///
/// Honours the standard overrides the AWS SDKs and CLI honour:
/// `AWS_ENDPOINT_URL_<SERVICE>` first, then `AWS_ENDPOINT_URL`, and
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` to turn both off.
public struct AWSEndpointResolver: Sendable {
    let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// The configured override for `service`, if any.
    public func override(for service: AWSService) -> String? {
        if environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true" { return nil }
        for key in ["AWS_ENDPOINT_URL_\(service.environmentName)", "AWS_ENDPOINT_URL"] {
            if let value = environment[key], !value.isEmpty {
                return value.hasSuffix("/") ? String(value.dropLast()) : value
            }
        }
        return nil
    }

    /// The base URL (scheme and host, no trailing slash).
    public func endpoint(for service: AWSService, region: String) -> String {
        if let override = override(for: service) { return override }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        if let host = service.globalHost {
            return region.hasPrefix("cn-") ? "https://\(service.endpointPrefix).\(region).\(suffix)" : "https://\(host)"
        }
        return "https://\(service.endpointPrefix).\(region).\(suffix)"
    }
}
