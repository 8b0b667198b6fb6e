import _CryptoExtras
import Crypto
import Foundation

/// A digest file as fetch stored it: where it is in the spool and what S3 said about it.
public struct StoredDigest: Sendable {
    public var runId: String
    /// Path inside the raw run.
    public var path: String
    public var url: URL
    public var bucket: String
    public var key: String
    /// `x-amz-meta-signature` of the object (hex), if it had one.
    public var signature: String?
    /// `x-amz-meta-signature-algorithm`.
    public var signatureAlgorithm: String?
    /// The end time in the key's name.
    public var endTime: Date

    public init?(entry: RawRunManifest.Entry, runId: String, runFolder: URL) {
        guard entry.parameters["Role"] == "digest", let key = entry.parameters["Key"], let parsed = CloudTrailKey(digestKey: key) else { return nil }
        self.runId = runId
        path = entry.path
        url = runFolder.appendingPathComponent(entry.path)
        bucket = entry.parameters["Bucket"] ?? ""
        self.key = key
        signature = entry.parameters["Signature"]
        signatureAlgorithm = entry.parameters["SignatureAlgorithm"]
        endTime = parsed.deliveredAt
    }

    /// The chain this digest belongs to: one per trail, account, region (and backfill digests apart).
    public var chainID: String { DigestNaming.chainID(key) ?? key }
    /// The delivery area of the log files it names: `<prefix>AWSLogs/[<org>/]<account>/` and the region.
    public var area: String { DigestNaming.area(key) ?? key }
}

/// Names derived from CloudTrail keys.
public enum DigestNaming {
    /// `…/<account>/CloudTrail-Digest/<region>/…/<account>_CloudTrail-Digest_<region>_<trail>_<home>_<time>.json.gz`
    /// -> `…/<account>/|<region>|<trail>_<home>` (and `#backfill`).
    public static func chainID(_ key: String) -> String? {
        guard let folder = key.range(of: "/CloudTrail-Digest/") ?? (key.hasPrefix("CloudTrail-Digest/") ? key.range(of: "CloudTrail-Digest/") : nil),
              let parsed = CloudTrailKey(digestKey: key) else { return nil }
        let root = String(key[..<folder.lowerBound])
        let name = key.split(separator: "/").last.map(String.init) ?? ""
        var rest = name.dropFirst("\(parsed.account)_CloudTrail-Digest_\(parsed.region)_".count)
        let backfill = rest.hasSuffix("_backfill.json.gz")
        rest = rest.dropLast(backfill ? "_backfill.json.gz".count : ".json.gz".count)
        if let time = rest.lastIndex(of: "_") { rest = rest[..<time] }
        return "\(root)/|\(parsed.region)|\(rest)\(backfill ? "#backfill" : "")"
    }

    /// The trail's home region in a digest key's name (its public keys are that region's).
    public static func homeRegion(_ key: String) -> String? {
        guard let parsed = CloudTrailKey(digestKey: key), let name = key.split(separator: "/").last else { return nil }
        var rest = name.dropFirst("\(parsed.account)_CloudTrail-Digest_\(parsed.region)_".count)
        rest = rest.dropLast(rest.hasSuffix("_backfill.json.gz") ? "_backfill.json.gz".count : ".json.gz".count)
        guard let time = rest.lastIndex(of: "_") else { return nil }
        rest = rest[..<time]
        guard let home = rest.lastIndex(of: "_") else { return nil }
        return String(rest[rest.index(after: home)...])
    }

    /// The delivery area of a log or digest key: `<root>/|<region>`.
    public static func area(_ key: String) -> String? {
        for folder in ["/CloudTrail-Digest/", "/CloudTrail/"] {
            guard let range = key.range(of: folder), let parsed = CloudTrailKey(anyKey: key) else { continue }
            return "\(key[..<range.lowerBound])/|\(parsed.region)"
        }
        return nil
    }
}

/// The checks of one digest: signature, link to the previous digest, the log files it names.
public enum DigestValidator {
    /// What is known of the previous digest of a chain.
    public struct Previous: Sendable, Equatable, Codable {
        public var key: String
        public var signature: String?
        /// Hex SHA-256 of its uncompressed bytes.
        public var hash: String

        public init(key: String, signature: String?, hash: String) {
            self.key = key
            self.signature = signature
            self.hash = hash
        }
    }

    /// Why the digest's signature does not hold, nil when it does.
    public static func signatureProblem(_ digest: CloudTrailDigest, stored: StoredDigest, keys: DigestPublicKeys) -> String? {
        if digest.bucket != stored.bucket || digest.key != stored.key {
            return "the digest says it is s3://\(digest.bucket)/\(digest.key) but was fetched from s3://\(stored.bucket)/\(stored.key): it was moved or copied"
        }
        guard let hex = stored.signature, !hex.isEmpty else {
            return "the object has no signature in its metadata (x-amz-meta-signature): it was not written by CloudTrail, or copied without its metadata"
        }
        let algorithm = stored.signatureAlgorithm ?? digest.signatureAlgorithm
        guard algorithm == "SHA256withRSA" else {
            return "signature algorithm \(algorithm) is not SHA256withRSA"
        }
        guard let key = keys.key(fingerprint: digest.fingerprint) else {
            return "no public key with fingerprint \(digest.fingerprint) (cloudtrail ListPublicKeys did not return it): the digest was not signed by CloudTrail, or the keys were not fetched"
        }
        guard let signature = Self.bytes(hex: hex) else {
            return "the signature in the object's metadata is not hexadecimal"
        }
        let publicKey: _RSA.Signing.PublicKey
        do {
            publicKey = try _RSA.Signing.PublicKey(derRepresentation: key.der)
        } catch {
            return "the public key with fingerprint \(digest.fingerprint) cannot be read as an RSA key of 2048 bits or more"
        }
        let valid = publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: Data(digest.signedText.utf8),
                                               padding: .insecurePKCS1v1_5)
        return valid ? nil : "the signature does not verify with the public key \(digest.fingerprint): the digest was altered or forged; check who can write the trail bucket"
    }

    /// Why the digest's link to `previous` does not hold, nil when it does.
    public static func linkProblem(_ digest: CloudTrailDigest, previous: Previous) -> String? {
        var problems: [String] = []
        if let hash = digest.previousHash, hash.lowercased() != previous.hash {
            problems.append("the previous digest \(previous.key) has SHA-256 \(previous.hash), this digest says \(hash.lowercased())")
        }
        if let signature = digest.previousSignature, signature.lowercased() != previous.signature?.lowercased() {
            problems.append("the previous digest's signature is not the one this digest names")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ") + ": the previous digest was replaced; check who can write the trail bucket"
    }

    /// Hex SHA-256 of a gzip'd log file's uncompressed content (what digests state).
    public static func uncompressedSHA256(_ url: URL) throws -> String {
        var hasher = SHA256()
        try GzipDecoder.decodeFile(url) { hasher.update(bufferPointer: $0) }
        return hasher.finalize().hexString
    }

    /// The uncompressed bytes of a gzip'd file.
    public static func uncompressed(_ url: URL) throws -> [UInt8] {
        var out: [UInt8] = []
        try GzipDecoder.decodeFile(url) { out.append(contentsOf: $0) }
        return out
    }

    static func bytes(hex: String) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
