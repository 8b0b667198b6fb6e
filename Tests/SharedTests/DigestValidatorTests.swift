import Foundation
import Testing
@testable import Shared

/// CloudTrail digest validation against vectors signed by another implementation
/// (python `cryptography`, Fixtures/digest/make_fixture.py), in the format AWS documents.
@Suite struct DigestValidatorTests {
    struct Vectors: Decodable {
        struct Digest: Decodable {
            let key: String
            let uncompressed: String
            let hash: String
            let signature: String
            let signed_text: String
        }
        let bucket: String
        let fingerprint: String
        let list_public_keys_answer: String
        let log_key: String
        let log_gzip_base64: String
        let digests: [Digest]
    }

    let vectors: Vectors
    let keys: DigestPublicKeys

    init() throws {
        let data = try Data(contentsOf: fixturesURL.appendingPathComponent("digest/digest_vectors.json"))
        vectors = try JSONDecoder().decode(Vectors.self, from: data)
        var keys = DigestPublicKeys()
        try keys.add(listPublicKeysAnswer: Data(vectors.list_public_keys_answer.utf8), region: "eu-west-1")
        self.keys = keys
    }

    func stored(_ d: Vectors.Digest, signature: String? = nil, key: String? = nil) -> StoredDigest {
        let entry = RawRunManifest.Entry(path: "objects/" + d.key, service: "s3", operation: "GetObject", account: nil, region: nil,
                                         parameters: ["Role": "digest", "Bucket": vectors.bucket, "Key": key ?? d.key,
                                                      "Signature": signature ?? d.signature, "SignatureAlgorithm": "SHA256withRSA"],
                                         requestedAt: "", httpStatus: 200, size: 0, sha256: "")
        return StoredDigest(entry: entry, runId: "20261128T101500Z-1a2b3c4d", runFolder: URL(fileURLWithPath: "/nonexistent"))!
    }

    @Test func parsesTheDocumentedFormatAndBuildsTheSignedText() throws {
        let d = try CloudTrailDigest(uncompressed: Array(vectors.digests[1].uncompressed.utf8))
        #expect(d.signedText == vectors.digests[1].signed_text)
        #expect(d.hash == vectors.digests[1].hash)
        #expect(d.previousKey == vectors.digests[0].key)
        #expect(d.logFiles.map(\.key) == [vectors.log_key])
        let first = try CloudTrailDigest(uncompressed: Array(vectors.digests[0].uncompressed.utf8))
        #expect(first.previousSignature == nil)
        #expect(first.signedText.hasSuffix("\nnull"))
    }

    @Test func signaturesOfTheOtherImplementationVerify() throws {
        for v in vectors.digests {
            let d = try CloudTrailDigest(uncompressed: Array(v.uncompressed.utf8))
            #expect(DigestValidator.signatureProblem(d, stored: stored(v), keys: keys) == nil)
        }
    }

    @Test func alteredForgedMovedOrUnknownDigestsDoNot() throws {
        let v = vectors.digests[1]
        // one byte of the digest changed (a log file's hash): its hash changes, the signature no longer covers it
        let altered = v.uncompressed.replacingOccurrences(of: "\"hashValue\": \"", with: "\"hashValue\": \"0")
        let d = try CloudTrailDigest(uncompressed: Array(altered.utf8))
        #expect(DigestValidator.signatureProblem(d, stored: stored(v), keys: keys)?.contains("does not verify") == true)
        let original = try CloudTrailDigest(uncompressed: Array(v.uncompressed.utf8))
        // a signature of the other digest
        #expect(DigestValidator.signatureProblem(original, stored: stored(v, signature: vectors.digests[0].signature), keys: keys)?
            .contains("does not verify") == true)
        // moved: fetched from another key than the one it signs
        #expect(DigestValidator.signatureProblem(original, stored: stored(v, key: vectors.digests[0].key), keys: keys)?.contains("moved") == true)
        // no metadata signature, no key
        #expect(DigestValidator.signatureProblem(original, stored: stored(v, signature: ""), keys: keys)?.contains("no signature") == true)
        #expect(DigestValidator.signatureProblem(original, stored: stored(v), keys: DigestPublicKeys())?.contains("no public key") == true)
    }

    @Test func theChainLinksToThePreviousDigest() throws {
        let first = vectors.digests[0]
        let second = try CloudTrailDigest(uncompressed: Array(vectors.digests[1].uncompressed.utf8))
        let previous = DigestValidator.Previous(key: first.key, signature: first.signature, hash: first.hash)
        #expect(DigestValidator.linkProblem(second, previous: previous) == nil)
        var replaced = previous
        replaced.hash = String(repeating: "0", count: 64)
        #expect(DigestValidator.linkProblem(second, previous: replaced)?.contains("replaced") == true)
        replaced = previous
        replaced.signature = "00"
        #expect(DigestValidator.linkProblem(second, previous: replaced)?.contains("replaced") == true)
    }

    @Test func logFileHashesAreOfTheUncompressedContent() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("log.json.gz")
        try Data(base64Encoded: vectors.log_gzip_base64)!.write(to: url)
        let d = try CloudTrailDigest(uncompressed: Array(vectors.digests[1].uncompressed.utf8))
        #expect(try DigestValidator.uncompressedSHA256(url) == d.logFiles[0].hashValue)
    }

    @Test func digestKeysAreParsed() {
        let key = vectors.digests[1].key
        let parsed = CloudTrailKey(digestKey: key)
        #expect(parsed?.account == "111111111111")
        #expect(parsed?.region == "eu-west-1")
        #expect(parsed?.deliveredAt == UTCDate.parseISO8601("2026-11-28T10:00:00Z"))
        #expect(CloudTrailKey(key: key) == nil, "never a log file")
        #expect(CloudTrailKey(digestKey: vectors.log_key) == nil)
        #expect(DigestNaming.chainID(key) == "AWSLogs/o-abcdefghij/111111111111/|eu-west-1|org-trail_eu-west-1")
        #expect(DigestNaming.homeRegion(key) == "eu-west-1")
        #expect(DigestNaming.area(key) == DigestNaming.area(vectors.log_key))
    }
}
