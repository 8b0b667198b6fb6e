import CCurl
import Foundation

/// Settings of an `HTTPClient`.
public struct HTTPClientConfiguration: Sendable {
    /// Seconds to establish a connection.
    public var connectTimeoutSeconds: Int
    /// A transfer that moves no byte for this many seconds is abandoned.
    public var stallTimeoutSeconds: Int
    /// An upper bound on a whole transfer, or nil for none (large downloads).
    public var totalTimeoutSeconds: Int?
    /// Extra CA bundle (PEM file) to trust.
    public var caBundle: String?
    /// Whether certificates and host names are verified.
    public var verifyTLS: Bool
    public var userAgent: String

    public init(connectTimeoutSeconds: Int = 10, stallTimeoutSeconds: Int = 60, totalTimeoutSeconds: Int? = nil,
                caBundle: String? = nil, verifyTLS: Bool = true, userAgent: String = "cloudspool/\(CloudspoolVersion.current)") {
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.stallTimeoutSeconds = stallTimeoutSeconds
        self.totalTimeoutSeconds = totalTimeoutSeconds
        self.caBundle = caBundle
        self.verifyTLS = verifyTLS
        self.userAgent = userAgent
    }
}

/// A blocking HTTP/1.1 client over libcurl, reusing connections between calls.
///
/// One client serves one thread at a time (it owns one curl handle). Response
/// bodies are either collected in memory (`send(_:)`, for API answers) or
/// handed to a sink chunk by chunk (`send(_:sink:)`, for S3 objects), so a
/// download of gigabytes uses a fixed amount of memory.
public final class HTTPClient {
    public let configuration: HTTPClientConfiguration
    private let easy: CurlEasyHandle

    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) throws {
        self.configuration = configuration
        self.easy = try CurlEasyHandle()
    }

    /// Sends a request and returns the whole response.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        var body = Data()
        let head = try send(request) { _, chunk in body.append(contentsOf: chunk) }
        return HTTPResponse(head: head, body: body)
    }

    /// Sends a request and hands the response body to `sink` as it arrives.
    /// The sink sees the status and headers with every chunk; if it throws,
    /// the transfer stops and the error is rethrown.
    public func send(_ request: HTTPRequest, sink: (HTTPResponseHead, UnsafeRawBufferPointer) throws -> Void) throws -> HTTPResponseHead {
        try withoutActuallyEscaping(sink) { sink in
            let context = CurlTransferContext(handle: easy, sink: sink)
            let unmanaged = Unmanaged.passUnretained(context)
            defer { withExtendedLifetime(context) {} }
            try easy.reset()
            try configure(request)
            try easy.set(CURLOPT_HEADERFUNCTION, callback: curlHeaderCallback)
            try easy.set(CURLOPT_HEADERDATA, pointer: unmanaged.toOpaque())
            try easy.set(CURLOPT_WRITEFUNCTION, callback: curlWriteCallback)
            try easy.set(CURLOPT_WRITEDATA, pointer: unmanaged.toOpaque())

            var list: UnsafeMutablePointer<curl_slist>?
            defer { curl_slist_free_all(list) }
            var names = Set<String>()
            for (name, value) in request.headers {
                names.insert(name.lowercased())
                list = curl_slist_append(list, "\(name): \(value)")
            }
            // curl adds these on its own; an empty value stops it.
            for name in ["Expect", "Accept"] where !names.contains(name.lowercased()) {
                list = curl_slist_append(list, "\(name):")
            }
            if !request.body.isEmpty && !names.contains("content-type") {
                list = curl_slist_append(list, "Content-Type:")
            }
            try easy.set(CURLOPT_HTTPHEADER, list: list)

            let host = URLParts.host(of: request.url)
            try request.body.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                if request.method != "GET" && request.method != "HEAD" {
                    try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(bytes.count))
                    // An empty body still needs a valid pointer, or curl reads from stdin.
                    try easy.set(CURLOPT_POSTFIELDS, pointer: bytes.count == 0 ? UnsafeMutableRawPointer(mutating: emptyPostBody.utf8Start) : UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                }
                do {
                    try easy.perform(host: host)
                } catch {
                    if let sinkError = context.sinkError { throw sinkError }
                    throw error
                }
            }
            if let sinkError = context.sinkError { throw sinkError }
            var head = context.head
            head.status = easy.responseCode
            return head
        }
    }

    private func configure(_ request: HTTPRequest) throws {
        try easy.set(CURLOPT_URL, request.url)
        try easy.set(CURLOPT_NOSIGNAL, 1)
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_FOLLOWLOCATION, 0)
        try easy.set(CURLOPT_CONNECTTIMEOUT, configuration.connectTimeoutSeconds)
        try easy.set(CURLOPT_LOW_SPEED_LIMIT, 1)
        try easy.set(CURLOPT_LOW_SPEED_TIME, configuration.stallTimeoutSeconds)
        if let total = configuration.totalTimeoutSeconds {
            try easy.set(CURLOPT_TIMEOUT, total)
        }
        try easy.set(CURLOPT_USERAGENT, configuration.userAgent)
        try easy.set(CURLOPT_SSL_VERIFYPEER, configuration.verifyTLS ? 1 : 0)
        try easy.set(CURLOPT_SSL_VERIFYHOST, configuration.verifyTLS ? 2 : 0)
        if let ca = configuration.caBundle {
            try easy.set(CURLOPT_CAINFO, ca)
        }
        try easy.set(CURLOPT_TCP_KEEPALIVE, 1)
        switch request.method {
        case "GET":
            try easy.set(CURLOPT_HTTPGET, 1)
        case "HEAD":
            try easy.set(CURLOPT_NOBODY, 1)
        case "POST":
            try easy.set(CURLOPT_POST, 1)
        default:
            try easy.set(CURLOPT_POST, 1)
            try easy.set(CURLOPT_CUSTOMREQUEST, request.method)
        }
    }
}


private let emptyPostBody: StaticString = ""

/// What the C callbacks of one transfer write into.
private final class CurlTransferContext {
    let handle: CurlEasyHandle
    let sink: (HTTPResponseHead, UnsafeRawBufferPointer) throws -> Void
    var head = HTTPResponseHead(status: 0, headers: [:])
    var sinkError: Error?

    init(handle: CurlEasyHandle, sink: @escaping (HTTPResponseHead, UnsafeRawBufferPointer) throws -> Void) {
        self.handle = handle
        self.sink = sink
    }
}

private let curlHeaderCallback: cloudspool_curl_data_callback = { data, size, count, userdata in
    let length = size * count
    guard let data, let userdata else { return length }
    let context = Unmanaged<CurlTransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        // A new response (after 100 Continue or a proxy's answer) starts afresh.
        context.head.headers = [:]
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        context.head.headers[name] = value
    }
    return length
}

private let curlWriteCallback: cloudspool_curl_data_callback = { data, size, count, userdata in
    let length = size * count
    guard let data, let userdata else { return length }
    let context = Unmanaged<CurlTransferContext>.fromOpaque(userdata).takeUnretainedValue()
    if context.head.status == 0 {
        context.head.status = context.handle.responseCode
    }
    do {
        try context.sink(context.head, UnsafeRawBufferPointer(start: data, count: length))
        return length
    } catch {
        context.sinkError = error
        return 0
    }
}
