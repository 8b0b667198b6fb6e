import Foundation

/// The status and headers of an HTTP response (the body travels separately
/// when it is streamed to a file).
public struct HTTPResponseHead: Sendable {
    public var status: Int
    /// Header names lowercased; the last value wins.
    public var headers: [String: String]

    public init(status: Int, headers: [String: String]) {
        self.status = status
        self.headers = headers
    }
}

/// A whole HTTP response held in memory: for API answers, which are small.
public struct HTTPResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: Data
    public var status: Int { head.status }

    public init(head: HTTPResponseHead, body: Data) {
        self.head = head
        self.body = body
    }
}
