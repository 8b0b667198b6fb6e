import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sends one livestatus query over a fresh connection (TCP or a unix socket)
/// and hands every byte of the answer to a sink until the server closes.
///
/// The request ends with an empty line and the client then half-closes its
/// side: icinga2 answers only after the empty line, Checkmk's own client
/// relies on the half-close; both together work everywhere. Livestatus
/// servers never time out an idle connection, so connecting and the whole
/// answer share one deadline (`timeout`).
public struct LivestatusClient: Sendable {
    public let address: LivestatusAddress
    public let timeout: TimeInterval

    public init(address: LivestatusAddress, timeout: TimeInterval) {
        self.address = address
        self.timeout = timeout
    }

    /// The request for the host columns the monitoring collector reads, as JSON with the fixed16 header.
    public static func hostsRequest(columns: [String], limit: Int? = nil) -> String {
        "GET hosts\nColumns: \(columns.joined(separator: " "))\n" + (limit.map { "Limit: \($0)\n" } ?? "") + "OutputFormat: json\nResponseHeader: fixed16\n\n"
    }

    public func query(_ request: String, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let deadline = MonotonicDeadline(seconds: timeout)
        let socket = try LivestatusSocket.connect(to: address, deadline: deadline)
        try socket.sendAll(Array(request.utf8), deadline: deadline)
        socket.shutdownWrite()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try socket.receive(into: buffer, deadline: deadline)
            if n == 0 { return }
            try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}

/// A point in monotonic time a network exchange must finish by.
struct MonotonicDeadline {
    let end: Double
    let seconds: TimeInterval

    init(seconds: TimeInterval) {
        self.seconds = seconds
        end = Self.now() + seconds
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Milliseconds left, for poll(2); 0 once passed.
    var remainingMilliseconds: Int32 {
        Int32(max(0, min(Double(Int32.max), (end - Self.now()) * 1000).rounded(.up)))
    }
}

/// A connected stream socket, closed in `deinit`. Non-blocking: every wait is a poll(2) bounded by the deadline.
final class LivestatusSocket {
    private var fd: Int32
    let peer: String

    private init(fd: Int32, peer: String) {
        self.fd = fd
        self.peer = peer
    }

    deinit {
        if fd >= 0 { _ = close(fd) }
    }

    static func connect(to address: LivestatusAddress, deadline: MonotonicDeadline) throws -> LivestatusSocket {
        switch address {
        case .unix(let path):
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                throw CloudspoolError(.configuration, "the unix socket path \(path) is too long")
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { throw CloudspoolError(.monitoring, "cannot create a socket: \(systemErrorText())") }
            let socket = LivestatusSocket(fd: fd, peer: path)
            let result = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            try socket.finishConnect(result: result, deadline: deadline)
            return socket
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            hints.ai_protocol = Int32(IPPROTO_TCP)
            var list: UnsafeMutablePointer<addrinfo>?
            let code = getaddrinfo(host, String(port), &hints, &list)
            guard code == 0, let first = list else {
                throw CloudspoolError(.monitoring, "cannot resolve \(host): \(String(cString: gai_strerror(code)))")
            }
            defer { freeaddrinfo(list) }
            var lastError: Error = CloudspoolError(.monitoring, "no address for \(host)")
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let info = entry {
                entry = info.pointee.ai_next
                let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), info.pointee.ai_protocol)
                guard fd >= 0 else {
                    lastError = CloudspoolError(.monitoring, "cannot create a socket: \(systemErrorText())")
                    continue
                }
                let socket = LivestatusSocket(fd: fd, peer: LivestatusAddress.tcp(host: host, port: port).description)
                do {
                    try socket.finishConnect(result: Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen), deadline: deadline)
                    return socket
                } catch {
                    lastError = error
                }
            }
            throw lastError
        }
    }

    private func finishConnect(result: Int32, deadline: MonotonicDeadline) throws {
        if result == 0 { return }
        guard errno == EINPROGRESS || errno == EAGAIN || errno == EINTR else {
            throw CloudspoolError(.monitoring, "cannot connect to \(peer): \(systemErrorText())")
        }
        try wait(for: Int16(POLLOUT), deadline: deadline, doing: "connect")
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else {
            throw CloudspoolError(.monitoring, "cannot connect to \(peer): \(systemErrorText())")
        }
        guard error == 0 else { throw CloudspoolError(.monitoring, "cannot connect to \(peer): \(systemErrorText(error))") }
    }

    private func wait(for events: Int16, deadline: MonotonicDeadline, doing what: String) throws {
        while true {
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, deadline.remainingMilliseconds)
            if ready > 0 { return }
            if ready < 0 && errno == EINTR {
                // SIGTERM interrupts the wait: a hanging server does not hold up a stop.
                try StopRequest.checkpoint("waiting for \(peer)")
                continue
            }
            if ready < 0 { throw CloudspoolError(.monitoring, "waiting for \(peer) failed: \(systemErrorText())") }
            throw CloudspoolError(.monitoring, "\(peer) did not \(what) within \(Int(deadline.seconds)) s (timeout_seconds)")
        }
    }

    func sendAll(_ bytes: [UInt8], deadline: MonotonicDeadline) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n >= 0 {
                offset += n
                continue
            }
            if errno == EINTR { continue }
            guard errno == EAGAIN || errno == EWOULDBLOCK else {
                throw CloudspoolError(.monitoring, "cannot send the request to \(peer): \(systemErrorText())")
            }
            try wait(for: Int16(POLLOUT), deadline: deadline, doing: "take the request")
        }
    }

    /// Ends the request: the server sees EOF after the empty line.
    func shutdownWrite() {
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    /// Bytes read into `buffer`; 0 when the server closed the connection.
    func receive(into buffer: UnsafeMutableRawBufferPointer, deadline: MonotonicDeadline) throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            guard errno == EAGAIN || errno == EWOULDBLOCK else {
                throw CloudspoolError(.monitoring, "reading the answer of \(peer) failed: \(systemErrorText())")
            }
            try wait(for: Int16(POLLIN), deadline: deadline, doing: "answer")
        }
    }
}
