import Crypto
import Foundation

/// A CloudTrail digest file, as AWS documents it: every hour CloudTrail
/// writes, per account, region and trail, a gzip'd JSON file naming the log
/// files it delivered in the hour (`logFiles[]`: bucket, key, SHA-256 of the
/// *uncompressed* log file), linked to the previous digest
/// (`previousDigestS3Object`, `previousDigestHashValue`: SHA-256 of the
/// previous digest's uncompressed bytes, `previousDigestSignature`), and
/// signed: the S3 object's metadata `x-amz-meta-signature` (hex) is an RSA
/// PKCS #1 v1.5 SHA-256 signature, with the key whose fingerprint is
/// `digestPublicKeyFingerprint`, over
///
///     <digestEndTime>\n<digestS3Bucket>/<digestS3Object>\n<hex SHA-256 of the uncompressed digest>\n<previousDigestSignature or "null">
public struct CloudTrailDigest: Sendable, Equatable {
    /// One log file the digest names.
    public struct LogFile: Sendable, Equatable {
        public var bucket: String
        public var key: String
        /// Hex SHA-256 of the uncompressed log file.
        public var hashValue: String
        public var hashAlgorithm: String
    }

    public var accountId: String
    public var startTime: String
    public var endTime: String
    public var bucket: String
    public var key: String
    public var fingerprint: String
    public var signatureAlgorithm: String
    public var previousBucket: String?
    public var previousKey: String?
    /// Hex SHA-256 of the previous digest's uncompressed bytes.
    public var previousHash: String?
    /// The previous digest's signature (hex); nil for the first digest of a chain.
    public var previousSignature: String?
    public var logFiles: [LogFile]
    /// Hex SHA-256 of this digest's uncompressed bytes.
    public var hash: String

    /// Parses the uncompressed bytes of a digest file.
    public init(uncompressed bytes: [UInt8]) throws {
        let value: JSONValue
        do {
            value = try JSONValueParser.parse(bytes)
        } catch {
            throw CloudspoolError(.format, "the digest file is not JSON: \(error)")
        }
        func required(_ name: String) throws -> String {
            guard let text = value[name]?.stringValue else {
                throw CloudspoolError(.format, "the digest file has no \(name): it is not a CloudTrail digest")
            }
            return text
        }
        accountId = value["awsAccountId"]?.stringValue ?? ""
        startTime = try required("digestStartTime")
        endTime = try required("digestEndTime")
        bucket = try required("digestS3Bucket")
        key = try required("digestS3Object")
        fingerprint = try required("digestPublicKeyFingerprint")
        signatureAlgorithm = value["digestSignatureAlgorithm"]?.stringValue ?? "SHA256withRSA"
        guard value["previousDigestSignature"] != nil else {
            throw CloudspoolError(.format, "the digest file has no previousDigestSignature (null for the first digest): it is not a CloudTrail digest")
        }
        previousBucket = value["previousDigestS3Bucket"]?.stringValue
        previousKey = value["previousDigestS3Object"]?.stringValue
        previousHash = value["previousDigestHashValue"]?.stringValue
        previousSignature = value["previousDigestSignature"]?.stringValue
        guard case .array(let files)? = value["logFiles"] else {
            throw CloudspoolError(.format, "the digest file has no logFiles list: it is not a CloudTrail digest")
        }
        logFiles = try files.map { file in
            guard let bucket = file["s3Bucket"]?.stringValue, let key = file["s3Object"]?.stringValue, let hash = file["hashValue"]?.stringValue else {
                throw CloudspoolError(.format, "a logFiles item of the digest lacks s3Bucket, s3Object or hashValue")
            }
            return LogFile(bucket: bucket, key: key, hashValue: hash.lowercased(), hashAlgorithm: file["hashAlgorithm"]?.stringValue ?? "SHA-256")
        }
        hash = SHA256.hash(data: bytes).hexString
    }

    /// The bytes CloudTrail signs (see the type's documentation).
    public var signedText: String {
        "\(endTime)\n\(bucket)/\(key)\n\(hash)\n\(previousSignature ?? "null")"
    }

    public var start: Date? { UTCDate.parseISO8601(startTime) }
    public var end: Date? { UTCDate.parseISO8601(endTime) }
}

/// The public keys CloudTrail signs digests with, from the stored answers of
/// `cloudtrail:ListPublicKeys` (`PublicKeyList[]`: `Value`, base64 of the DER
/// PKCS #1 RSA public key; `Fingerprint`; validity times), by fingerprint.
public struct DigestPublicKeys: Sendable {
    public struct Key: Sendable {
        public var fingerprint: String
        public var der: Data
        public var region: String?
    }

    public private(set) var keys: [String: Key] = [:]

    public init() {}

    /// Adds the keys of one `ListPublicKeys` answer body; returns how many it held.
    @discardableResult
    public mutating func add(listPublicKeysAnswer body: Data, region: String?) throws -> Int {
        let value: JSONValue
        do {
            value = try JSONValueParser.parse(Array(body))
        } catch {
            throw CloudspoolError(.format, "a stored ListPublicKeys answer is not JSON: \(error)")
        }
        var count = 0
        for item in value["PublicKeyList"]?.arrayValue ?? [] {
            guard let fingerprint = item["Fingerprint"]?.stringValue, let text = item["Value"]?.stringValue,
                  let der = Data(base64Encoded: text) else { continue }
            keys[fingerprint.lowercased()] = Key(fingerprint: fingerprint, der: der, region: region)
            count += 1
        }
        return count
    }

    public func key(fingerprint: String) -> Key? {
        keys[fingerprint.lowercased()]
    }
}
