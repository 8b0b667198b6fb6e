import Foundation

/// The requests of the OP5 Monitor HTTP API that list hosts:
/// `GET <url>/api/filter/query?query=[hosts] all&columns=…&format=json&limit=N&offset=M`
/// with HTTP basic auth, paged with limit and offset until a short page.
/// The password travels in the `Authorization` header only: never in the
/// URL, which is stored in the run manifest.
struct OP5Client {
    let source: MonitoringSettings.Source
    let password: String

    /// Pages asked at most in one fetch (a server that ignores `offset` would send the first page forever).
    static let maxPages = 1000

    func url(offset: Int, limit: Int? = nil) -> String {
        let parameters = [("query", "[hosts] all"), ("columns", MonitoringHost.op5Columns.joined(separator: ",")), ("format", "json"),
                          ("limit", "\(limit ?? source.pageSize)"), ("offset", "\(offset)")]
        let query = parameters.map { "\($0.0)=\(AWSURIEncoding.encode($0.1))" }.joined(separator: "&")
        return "\(source.url ?? "")/api/filter/query?\(query)"
    }

    func request(offset: Int, limit: Int? = nil) -> HTTPRequest {
        let credentials = Data("\(source.username ?? ""):\(password)".utf8).base64EncodedString()
        return HTTPRequest(method: "GET", url: url(offset: offset, limit: limit), headers: [("Authorization", "Basic \(credentials)"), ("Accept", "application/json")])
    }

    /// The error of an answer other than 200, with the API's own words (`{"error": …, "full_error": …}`) when it gave any.
    static func statusError(status: Int, body: [UInt8], user: String) -> CloudspoolError {
        var detail = ""
        if let value = try? JSONValueParser.parse(body) {
            detail = [value["error"]?.stringValue, value["full_error"]?.stringValue].compactMap { $0 }.joined(separator: ": ")
        }
        let said = detail.isEmpty ? "" : " (\(detail.prefix(300)))"
        switch status {
        case 401:
            return CloudspoolError(.monitoring, "the OP5 API refused the credentials of user '\(user)' (HTTP 401\(said)); check username and the password file")
        case 403:
            return CloudspoolError(.monitoring, "the OP5 API does not let user '\(user)' read hosts (HTTP 403\(said)); give the user the API and host view rights")
        default:
            return CloudspoolError(.monitoring, "the OP5 API answered HTTP \(status)\(said)")
        }
    }
}
