import Crypto
import Foundation
import Logging

/// The S3 calls cloudspool needs, over `AWSClient`: listing a bucket page by
/// page and streaming an object's bytes to a sink.
///
/// Path-style addressing is used for custom endpoints (emulators, VPC
/// endpoints given as URLs) and buckets whose names are not DNS-safe;
/// virtual-hosted style otherwise, as AWS recommends.
public final class S3Client {
    let client: AWSClient
    let bucket: String
    let pathStyle: Bool

    public init(bucket: String, region: String, account: String? = nil, credentials: any CredentialProvider,
                http: HTTPClient, retry: RetryPolicy, endpoints: AWSEndpointResolver, addressing: String,
                clock: RuntimeClock = .system, logger: Logger) {
        let override = endpoints.override(for: .s3)
        let dnsSafe = bucket.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" } && !bucket.isEmpty
        let pathStyle: Bool
        switch addressing {
        case "path": pathStyle = true
        case "virtual": pathStyle = false
        default: pathStyle = override != nil || !dnsSafe
        }
        let base = endpoints.endpoint(for: .s3, region: region)
        let endpoint: String
        if pathStyle {
            endpoint = base
        } else {
            let parts = URLParts.split(base)
            endpoint = "\(parts.scheme)://\(bucket).\(parts.authority)"
        }
        self.client = AWSClient(service: .s3, region: region, account: account, endpoint: endpoint,
                                credentials: credentials, http: http, retry: retry, clock: clock, logger: logger)
        self.bucket = bucket
        self.pathStyle = pathStyle
    }

    func objectPath(_ key: String) -> String {
        let encoded = AWSURIEncoding.encode(key, keepSlash: true)
        return pathStyle ? "/\(AWSURIEncoding.encode(bucket))/\(encoded)" : "/\(encoded)"
    }

    var bucketPath: String { pathStyle ? "/\(AWSURIEncoding.encode(bucket))" : "/" }

    /// One page of `ListObjectsV2`.
    public func listObjects(prefix: String, delimiter: String? = nil, startAfter: String? = nil,
                            continuationToken: String? = nil, maxKeys: Int = 1000) throws -> S3ListPage {
        try listObjectsRaw(prefix: prefix, delimiter: delimiter, startAfter: startAfter, continuationToken: continuationToken, maxKeys: maxKeys).page
    }

    /// One page of `ListObjectsV2`, with the answer's bytes for the spool.
    public func listObjectsRaw(prefix: String, delimiter: String? = nil, startAfter: String? = nil,
                               continuationToken: String? = nil, maxKeys: Int = 1000) throws -> (page: S3ListPage, body: Data, status: Int) {
        var query: [(String, String)] = [("list-type", "2"), ("prefix", prefix), ("max-keys", String(maxKeys)), ("encoding-type", "url")]
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let continuationToken {
            query.append(("continuation-token", continuationToken))
        } else if let startAfter {
            query.append(("start-after", startAfter))
        }
        let response = try client.send(operation: "ListObjectsV2", path: bucketPath, query: query)
        return (try S3ListPage.parse(response.body, bucket: bucket), response.body, response.status)
    }

    /// The region of the bucket (`GetBucketLocation`; empty means us-east-1, `EU` eu-west-1).
    public func bucketRegion() throws -> (region: String, body: Data) {
        let response = try client.send(operation: "GetBucketLocation", path: bucketPath, query: [("location", "")])
        let root = try XMLNode.parse(response.body, what: "s3 GetBucketLocation of bucket \(bucket)")
        var region = root.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if region.isEmpty { region = "us-east-1" } else if region == "EU" { region = "eu-west-1" }
        return (region, response.body)
    }

    /// `ListBuckets` of the credentials' account (any region's endpoint answers).
    public func listBuckets() throws -> (names: [String], body: Data) {
        let response = try client.send(operation: "ListBuckets", path: "/")
        let root = try XMLNode.parse(response.body, what: "s3 ListBuckets")
        return ((root.child("Buckets")?.children("Bucket") ?? []).compactMap { $0.string("Name") }, response.body)
    }
}

extension S3ListPage {
    /// Parses a `ListObjectsV2` answer.
    public static func parse(_ body: Data, bucket: String) throws -> S3ListPage {
        let root = try XMLNode.parse(body, what: "s3 ListObjectsV2 of bucket \(bucket)")
        // Keys are asked for URL-encoded (a key may hold characters XML cannot carry); S3 writes a
        // space as '+', others as %20: decoding '+' first, as botocore does, reads both.
        let encoded = root.string("EncodingType") == "url"
        let name: (String) -> String = { encoded ? AWSURIEncoding.decode($0.replacingOccurrences(of: "+", with: " ")) : $0 }
        let objects = root.children("Contents").compactMap { node -> S3Object? in
            guard let key = node.string("Key").map(name) else { return nil }
            return S3Object(key: key, size: Int64(node.string("Size") ?? "") ?? 0, eTag: node.string("ETag") ?? "",
                            lastModified: node.string("LastModified") ?? "", storageClass: node.string("StorageClass"))
        }
        let prefixes = root.children("CommonPrefixes").compactMap { $0.string("Prefix").map(name) }
        let truncated = root.string("IsTruncated") == "true"
        let token = root.string("NextContinuationToken")
        if truncated && token == nil {
            throw CloudspoolError(.format, "s3 ListObjectsV2 of bucket \(bucket) said the listing is truncated but gave no continuation token")
        }
        return S3ListPage(objects: objects, commonPrefixes: prefixes, nextContinuationToken: truncated ? token : nil, isTruncated: truncated)
    }
}

extension S3Client {

    /// Every common prefix directly below `prefix` (all pages).
    public func listCommonPrefixes(prefix: String) throws -> [String] {
        var result: [String] = []
        var token: String?
        repeat {
            let page = try listObjects(prefix: prefix, delimiter: "/", continuationToken: token)
            result += page.commonPrefixes
            token = page.nextContinuationToken
        } while token != nil
        return result
    }

    /// A small object (a manifest) read into memory.
    public func getObjectData(key: String) throws -> Data {
        try client.send(operation: "GetObject", path: objectPath(key)).body
    }

    /// Streams an object into `sink`; `restart` is called before each attempt.
    /// Returns the response head and the SHA-256 of what was received.
    public func getObject(key: String, restart: () throws -> Void, sink: (UnsafeRawBufferPointer) throws -> Void) throws -> (head: HTTPResponseHead, size: Int64, sha256: String) {
        var hasher = SHA256()
        var size: Int64 = 0
        let head = try client.stream(operation: "GetObject", path: objectPath(key), unsignedPayload: false,
                                     restart: { hasher = SHA256(); size = 0; try restart() },
                                     sink: { chunk in hasher.update(bufferPointer: chunk); size += Int64(chunk.count); try sink(chunk) })
        if let length = head.headers["content-length"], let expected = Int64(length), expected != size {
            throw CloudspoolError(.aws, "s3 GetObject of \(bucket)/\(key): received \(size) bytes but the answer announced \(expected)")
        }
        return (head, size, hasher.finalize().hexString)
    }
}
