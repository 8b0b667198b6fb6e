/// A transfer that did not produce an HTTP response: curl could not connect,
/// timed out, lost the connection, or a local sink failed.
public struct HTTPClientError: Error, CustomStringConvertible, Sendable {
    /// The CURLcode, or -1 when the failure was local (the body sink threw).
    public let curlCode: Int
    /// curl's own explanation (`curl_easy_strerror` plus its error buffer).
    public let detail: String
    /// The host the request was for (never the query string, which may hold signatures).
    public let host: String

    /// Whether retrying the same request may succeed (connection and timeout errors).
    public var isTransient: Bool {
        // CURLE_COULDNT_RESOLVE_HOST 6, COULDNT_CONNECT 7, PARTIAL_FILE 18,
        // HTTP2 16, WRITE? no, SEND_ERROR 55, RECV_ERROR 56, OPERATION_TIMEDOUT 28,
        // GOT_NOTHING 52, SSL_CONNECT_ERROR 35, HTTP2_STREAM 92, AGAIN 81
        [6, 7, 16, 18, 28, 35, 52, 55, 56, 81, 92].contains(curlCode)
    }

    public var description: String {
        "HTTP transfer to \(host) failed: \(detail)"
    }
}
