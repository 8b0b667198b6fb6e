import Crypto
import Foundation

/// Signs HTTP requests with AWS Signature Version 4.
///
/// The signer is a pure function of the request, the credentials and the
/// date it is given, so tests can check it against AWS's published vectors
/// and botocore with fixed inputs. S3 is signed as S3 expects: the path is
/// neither normalised nor encoded twice, and `x-amz-content-sha256` carries
/// the payload hash (or `UNSIGNED-PAYLOAD`).
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    /// The payload hash S3 accepts in place of a real one.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// Headers never signed: hop-by-hop headers and those proxies may change (the same set as botocore).
    static let unsignedHeaders: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    private var isS3: Bool { service == "s3" }

    /// Adds `host`, `x-amz-date`, the token, (S3) `x-amz-content-sha256`, and `Authorization`.
    /// `payloadHash` overrides the SHA-256 of the body (e.g. `UNSIGNED-PAYLOAD`).
    public func sign(_ request: inout HTTPRequest, date: Date, payloadHash: String? = nil) {
        let parts = URLParts.split(request.url)
        if request.header("host") == nil {
            request.setHeader("host", Self.hostHeader(scheme: parts.scheme, authority: parts.authority))
        }
        let amzDate = UTCDate.basic(date)
        request.setHeader("x-amz-date", amzDate)
        if let token = credentials.sessionToken {
            request.setHeader("x-amz-security-token", token)
        }
        let hash = payloadHash ?? SHA256.hash(data: request.body).hexString
        if isS3 {
            request.setHeader("x-amz-content-sha256", hash)
        }
        let canonical = canonicalRequest(method: request.method, path: parts.path, query: parts.query, headers: request.headers, payloadHash: hash)
        let scope = "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
        let toSign = stringToSign(canonicalRequest: canonical.text, amzDate: amzDate, scope: scope)
        let signature = self.signature(stringToSign: toSign, day: String(amzDate.prefix(8)))
        request.setHeader("Authorization", "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)")
    }

    /// The canonical request and its signed-header list.
    public func canonicalRequest(method: String, path: String, query: String, headers: [(name: String, value: String)], payloadHash: String) -> (text: String, signedHeaders: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if Self.unsignedHeaders.contains(lower) { continue }
            merged[lower, default: []].append(Self.trimValue(value))
        }
        let names = merged.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let text = [method.uppercased(), canonicalURI(path), canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        return (text, signedHeaders)
    }

    public func stringToSign(canonicalRequest: String, amzDate: String, scope: String) -> String {
        "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(SHA256.hash(data: Data(canonicalRequest.utf8)).hexString)"
    }

    public func signature(stringToSign: String, day: String) -> String {
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return Data(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key)).hexString
    }

    /// The path as signed. S3: as sent. Others: dot segments and repeated
    /// slashes removed, then every segment encoded once more.
    func canonicalURI(_ wirePath: String) -> String {
        if isS3 { return wirePath.isEmpty ? "/" : wirePath }
        var segments: [Substring] = []
        for segment in wirePath.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." { if !segments.isEmpty { segments.removeLast() }; continue }
            segments.append(segment)
        }
        // The wire path is already encoded once; encoding it again is what AWS signs.
        var path = "/" + segments.map { AWSURIEncoding.encode($0) }.joined(separator: "/")
        if wirePath.hasSuffix("/") && !segments.isEmpty { path += "/" }
        return path
    }

    func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = AWSURIEncoding.encode(AWSURIEncoding.decode(kv[0]))
            let value = kv.count > 1 ? AWSURIEncoding.encode(AWSURIEncoding.decode(kv[1])) : ""
            pairs.append((key, value))
        }
        pairs.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static func trimValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    /// The Host header for a URL: the authority without a default port.
    public static func hostHeader(scheme: String, authority: String) -> String {
        if scheme == "https" && authority.hasSuffix(":443") { return String(authority.dropLast(4)) }
        if scheme == "http" && authority.hasSuffix(":80") { return String(authority.dropLast(3)) }
        return authority
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal.
    var hexString: String {
        var out = ""
        for byte in self {
            let h = String(byte, radix: 16)
            if h.count == 1 { out += "0" }
            out += h
        }
        return out
    }
}

extension Digest {
    /// Lower-case hexadecimal of the digest.
    var hexString: String { Array(self.makeIterator()).hexString }
}
