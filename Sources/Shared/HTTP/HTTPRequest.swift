import Foundation

/// One HTTP request as cloudspool sends it: method, absolute URL (already
/// percent-encoded, exactly as it goes on the wire), headers and body.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Header names and values, in order; names compare case-insensitively.
    public var headers: [(name: String, value: String)]
    public var body: Data

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: Data = Data()) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// The value of a header, case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// Sets (replaces) a header.
    public mutating func setHeader(_ name: String, _ value: String) {
        let lower = name.lowercased()
        headers.removeAll { $0.name.lowercased() == lower }
        headers.append((name, value))
    }
}
