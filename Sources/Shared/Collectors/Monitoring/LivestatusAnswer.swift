import Foundation

/// A livestatus answer asked with `ResponseHeader: fixed16`, read as its
/// bytes arrive: the 16-byte header (status and body length), then exactly
/// that many body bytes. A value type fed with chunks, so the reading of a
/// truncated, oversized or headerless answer is tested without a socket.
///
/// The header (docs/livestatus-notes.md): bytes 0-2 the status as three
/// digits, bytes 3-14 the body length in bytes, right-aligned and padded with
/// spaces, byte 15 a newline. Without that header an error is silence, which
/// is why it is always asked for.
public struct LivestatusAnswer: Sendable {
    public struct Header: Sendable, Equatable {
        /// 200 OK; 400 bad request header, 404 no such table, 413 time limit, 451/452 bad request.
        public let status: Int
        /// Body bytes announced.
        public let length: Int
    }

    public static let headerSize = 16

    /// The header of 16 bytes, or nil when they are not a fixed16 header.
    public static func parseHeader(_ bytes: [UInt8]) -> Header? {
        guard bytes.count == headerSize, bytes[15] == 10 else { return nil }
        let isDigit = { (c: UInt8) in c >= 48 && c <= 57 }
        guard bytes[0..<3].allSatisfy(isDigit), bytes[3] == 32 else { return nil }
        let field = bytes[3..<15].drop { $0 == 32 }
        guard !field.isEmpty, field.allSatisfy(isDigit), let length = Int(String(decoding: field, as: UTF8.self)) else { return nil }
        return Header(status: Int(String(decoding: bytes[0..<3], as: UTF8.self))!, length: length)
    }

    private var headerBytes: [UInt8] = []
    public private(set) var header: Header?
    /// Body bytes received so far.
    public private(set) var bodyBytes = 0
    /// The first body bytes (up to 1 KiB), for the message of an error answer.
    public private(set) var bodyStart: [UInt8] = []

    public init() {}

    /// Takes the next bytes of the answer; hands the body part of them, with the header, to `body`.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, body: (Header, UnsafeRawBufferPointer) throws -> Void) throws {
        var rest = chunk[...]
        if header == nil {
            let take = min(Self.headerSize - headerBytes.count, rest.count)
            headerBytes.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            guard headerBytes.count == Self.headerSize else { return }
            guard let parsed = Self.parseHeader(headerBytes) else {
                throw CloudspoolError(.monitoring, "the answer does not start with a livestatus fixed16 header (it starts with \(Self.printable(headerBytes))): is this a livestatus socket?")
            }
            header = parsed
        }
        guard !rest.isEmpty, let header else { return }
        guard bodyBytes + rest.count <= header.length else {
            throw CloudspoolError(.monitoring, "the answer is longer than the \(header.length) bytes its header announced")
        }
        bodyBytes += rest.count
        if bodyStart.count < 1024 { bodyStart.append(contentsOf: rest.prefix(1024 - bodyStart.count)) }
        try body(header, UnsafeRawBufferPointer(rebasing: rest))
    }

    /// Checks, once the server closed the connection, that the answer was whole.
    public func finish() throws -> Header {
        guard let header else {
            if headerBytes.isEmpty {
                throw CloudspoolError(.monitoring, "the server closed the connection without an answer (icinga2 and naemon answer a request they cannot parse, e.g. a bad header line, with silence)")
            }
            throw CloudspoolError(.monitoring, "the answer is truncated: \(headerBytes.count) bytes, not even the 16-byte header")
        }
        guard bodyBytes == header.length else {
            throw CloudspoolError(.monitoring, "the answer is truncated: its header announced \(header.length) bytes, \(bodyBytes) came before the connection closed")
        }
        return header
    }

    /// The first line of an error answer's body (livestatus errors are plain text), for the message.
    public var errorText: String {
        let line = bodyStart.split(separator: 10, maxSplits: 1, omittingEmptySubsequences: true).first.map { Array($0) } ?? []
        return String(decoding: line.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    static func printable(_ bytes: [UInt8]) -> String {
        "'" + String(bytes.map { $0 >= 32 && $0 < 127 ? Character(Unicode.Scalar($0)) : "." }) + "'"
    }
}
