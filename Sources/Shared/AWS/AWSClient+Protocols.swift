import Foundation

extension AWSClient {
    /// A call of the query protocol (EC2, RDS, CloudWatch, STS, IAM): a form-encoded POST.
    public func query(action: String, version: String, parameters: [(String, String)] = []) throws -> HTTPResponse {
        let form = [("Action", action), ("Version", version)] + parameters
        return try send(operation: action, method: "POST",
                        headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                        body: Data(AWSURIEncoding.query(form).utf8))
    }

    /// A call of the JSON protocol (CloudTrail, Organizations): a POST naming the operation in `X-Amz-Target`.
    public func json(target: String, operation: String, body: [String: Any], version: String = "1.1") throws -> HTTPResponse {
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return try send(operation: operation, method: "POST",
                        headers: [("Content-Type", "application/x-amz-json-\(version)"), ("X-Amz-Target", target)],
                        body: data)
    }
}
