import Foundation

/// An error answer from an AWS API, with everything an operator needs to find
/// the cause: service, operation, account, region, HTTP status, AWS's code and message.
public struct AWSServiceError: Error, CustomStringConvertible, Sendable {
    public let service: String
    public let operation: String
    public let account: String?
    public let region: String
    public let status: Int
    public let code: String
    public let message: String
    public let requestId: String?

    public var description: String {
        var where_ = "\(service) \(operation) in \(region)"
        if let account { where_ += " for account \(account)" }
        var text = "\(where_) failed: HTTP \(status) \(code)"
        if !message.isEmpty { text += ": \(message)" }
        if let requestId { text += " (request id \(requestId))" }
        return text
    }

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]

    static let expiredCodes: Set<String> = ["ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"]

    /// Throttled or a server-side fault: worth retrying.
    public var isRetryable: Bool {
        status == 429 || status >= 500 || Self.throttlingCodes.contains(code)
    }

    /// AWS refused the request for its rate (a quota, not a fault).
    public var isThrottling: Bool {
        status == 429 || Self.throttlingCodes.contains(code)
    }

    /// The credentials expired: renew them and retry.
    public var isExpiredCredentials: Bool {
        Self.expiredCodes.contains(code)
    }

    /// Access was denied (the run goes on with other accounts/regions).
    public var isAccessDenied: Bool {
        status == 403 || code.contains("AccessDenied") || code == "UnauthorizedOperation" || code == "AuthFailure"
    }

    /// Builds the error from an AWS error body (XML of S3, query and EC2 APIs, or JSON).
    public static func parse(service: String, operation: String, account: String?, region: String, response: HTTPResponse) -> AWSServiceError {
        var code = ""
        var message = ""
        var requestId = response.head.headers["x-amzn-requestid"] ?? response.head.headers["x-amz-request-id"]
        let body = response.body
        if let first = body.first(where: { $0 != 32 && $0 != 10 && $0 != 13 && $0 != 9 }), first == UInt8(ascii: "{"),
           let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            code = (json["__type"] as? String ?? json["code"] as? String ?? json["Code"] as? String ?? "")
            if let hash = code.lastIndex(of: "#") { code = String(code[code.index(after: hash)...]) }
            message = json["message"] as? String ?? json["Message"] as? String ?? ""
        } else if !body.isEmpty {
            let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
            code = XMLText.firstElement("Code", in: text) ?? ""
            message = XMLText.firstElement("Message", in: text) ?? ""
            requestId = requestId ?? XMLText.firstElement("RequestId", in: text) ?? XMLText.firstElement("RequestID", in: text)
        }
        if code.isEmpty {
            code = response.head.headers["x-amzn-errortype"].map { String($0.split(separator: ":").first ?? "") } ?? "HTTP\(response.status)"
        }
        return AWSServiceError(service: service, operation: operation, account: account, region: region,
                               status: response.status, code: code, message: message, requestId: requestId)
    }
}
