/// Where a livestatus server listens: `host:port` (TCP, `[v6]:port` for an
/// IPv6 literal) or the path of a unix socket (anything starting with `/`).
public enum LivestatusAddress: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: UInt16)
    case unix(path: String)

    /// The longest unix socket path `sockaddr_un` holds (108 bytes with the NUL).
    static let maxSocketPath = 107

    public init(_ text: String) throws {
        if text.hasPrefix("/") {
            guard text.utf8.count <= Self.maxSocketPath else {
                throw CloudspoolError(.configuration, "is a unix socket path longer than \(Self.maxSocketPath) bytes, which a socket address cannot hold")
            }
            self = .unix(path: text)
            return
        }
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw CloudspoolError(.configuration, "must be host:port, [IPv6]:port or a unix socket path, not '\(text)'")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw CloudspoolError(.configuration, "must be host:port (e.g. 127.0.0.1:6558), [IPv6]:port or a unix socket path, not '\(text)'")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = UInt16(portText), port > 0 else {
            throw CloudspoolError(.configuration, "must be host:port with a port from 1 to 65535, not '\(text)'")
        }
        host = host.drop { $0 == " " }
        self = .tcp(host: String(host), port: port)
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): return path
        }
    }
}
