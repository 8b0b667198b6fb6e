import Foundation

/// What was found about one log file a digest names (or that no digest names).
public struct LogFileOutcome: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Fetched, and its uncompressed SHA-256 is the one the digest states.
        case valid
        /// Fetched, but it differs from what the digest states (or cannot be decompressed).
        case altered
        /// Not fetched although it should have been: deleted from the bucket before fetch, or from the spool.
        case missing
        /// Fetched once, but its raw run was removed by retention: it cannot be checked any more.
        case notKept = "not_kept"
        /// Outside what fetch collects (before `cloudtrail.start_date`, another bucket).
        case notFetched = "not_fetched"
        /// Not fetched yet; the digest is less than two hours old.
        case pending
        /// Fetched, but no digest names it although digests cover its time: CloudTrail did not deliver it.
        case noDigest = "no_digest"
    }

    public var bucket: String
    public var key: String
    public var status: Status
    /// The raw run and path it was checked in.
    public var runId: String?
    public var path: String?
    public var expectedSHA256: String?
    public var actualSHA256: String?
    public var detail: String

    /// Whether this is a mismatch an auditor must act on.
    public var isProblem: Bool { status == .altered || status == .missing || status == .noDigest }
}

/// What was found about one digest file.
public struct DigestOutcome: Sendable {
    public var stored: StoredDigest
    public var digest: CloudTrailDigest?
    /// `start` (first of its chain), `linked`, `start in spool` (its predecessor is older than what is kept), `broken`.
    public var chain: String
    /// Signature, format and link problems; empty when the digest validates.
    public var problems: [String]
    public var logs: [LogFileOutcome]

    public var valid: Bool { problems.isEmpty }
    /// What the next digest of the chain is checked against.
    public var asPrevious: DigestValidator.Previous? {
        digest.map { DigestValidator.Previous(key: stored.key, signature: stored.signature, hash: $0.hash) }
    }
}

/// Where a fetched log file is in the spool.
public struct LogFileLocation: Sendable, Equatable, Codable {
    public var runId: String
    public var path: String

    public init(runId: String, path: String) {
        self.runId = runId
        self.path = path
    }
}

/// Checks digests against the spool: signature (with the stored public
/// keys), the link to the previous digest, and every log file named against
/// the fetched copy. Shared by the pipeline (`digests` transform, one digest
/// at a time) and by `cloudspool-audit digests` (everything kept).
public struct DigestChecker: Sendable {
    /// How the previous digest of a chain was found.
    public enum PreviousLookup: Sendable {
        case found(DigestValidator.Previous)
        /// Older than anything kept or remembered: the chain starts here as far as the spool knows.
        case notKept
        /// It should be there and is not.
        case missing
    }

    public let layout: SpoolLayout
    /// The trail bucket (log files of other buckets are not fetched).
    public let bucket: String
    public let keys: DigestPublicKeys
    public let now: Date
    /// Log files delivered before this are not fetched (`cloudtrail.start_date`, less a day).
    public let fetchedFrom: Date
    /// Log files delivered before this may have been fetched in a run retention removed (`DigestAudit.prunedUpTo`).
    public let keptFrom: Date?
    /// How long a digest's log files may still be on their way.
    public static let grace: TimeInterval = 2 * 3600

    public init(layout: SpoolLayout, bucket: String, keys: DigestPublicKeys, now: Date, fetchedFrom: Date, keptFrom: Date?) {
        self.layout = layout
        self.bucket = bucket
        self.keys = keys
        self.now = now
        self.fetchedFrom = fetchedFrom
        self.keptFrom = keptFrom
    }

    /// The file of a fetched log: in its run, or in quarantine where transform set it aside.
    public func url(_ location: LogFileLocation) -> URL? {
        for url in [layout.raw(CloudTrailFetcher.collector).appendingPathComponent(location.runId).appendingPathComponent(location.path),
                    layout.quarantine("transform").appendingPathComponent(location.runId).appendingPathComponent(location.path)]
            where SpoolFiles.isRegularFile(url) { return url }
        return nil
    }

    public func check(_ stored: StoredDigest, previous: (CloudTrailDigest) -> PreviousLookup, locate: (String) -> LogFileLocation?) -> DigestOutcome {
        var outcome = DigestOutcome(stored: stored, digest: nil, chain: "-", problems: [], logs: [])
        let digest: CloudTrailDigest
        do {
            digest = try CloudTrailDigest(uncompressed: try DigestValidator.uncompressed(stored.url))
        } catch {
            outcome.problems.append(SpoolFiles.isRegularFile(stored.url) ? "cannot be read as a digest: \(StageRunner.describe(error))"
                                                                           : "the digest file is not in the spool (\(stored.runId)/\(stored.path))")
            return outcome
        }
        outcome.digest = digest
        if let problem = DigestValidator.signatureProblem(digest, stored: stored, keys: keys) { outcome.problems.append(problem) }
        if digest.previousKey == nil && digest.previousSignature == nil {
            outcome.chain = "start"
        } else {
            switch previous(digest) {
            case .found(let p):
                if let problem = DigestValidator.linkProblem(digest, previous: p) {
                    outcome.chain = "broken"
                    outcome.problems.append(problem)
                } else {
                    outcome.chain = "linked"
                }
            case .notKept:
                outcome.chain = "start in spool"
            case .missing:
                outcome.chain = "broken"
                outcome.problems.append("the previous digest \(digest.previousKey ?? "?") is not in the spool although older digests of the chain are: it was deleted before fetch could store it, or removed from the spool; check who can delete from the trail bucket and the spool")
            }
        }
        for file in digest.logFiles {
            outcome.logs.append(checkLog(file, namedAt: digest.end, locate: locate))
        }
        return outcome
    }

    /// One log file a digest ending at `namedAt` names, against the fetched copy.
    public func checkLog(_ file: CloudTrailDigest.LogFile, namedAt digestEnd: Date?, locate: (String) -> LogFileLocation?) -> LogFileOutcome {
        var out = LogFileOutcome(bucket: file.bucket, key: file.key, status: .missing, runId: nil, path: nil, expectedSHA256: file.hashValue,
                                 actualSHA256: nil, detail: "")
        guard file.bucket == bucket else {
            out.status = .notFetched
            out.detail = "in bucket \(file.bucket), not the trail bucket cloudspool fetches"
            return out
        }
        if let location = locate(file.key) {
            out.runId = location.runId
            out.path = location.path
            guard let url = url(location) else {
                out.detail = "listed by raw run \(location.runId) but its file is gone"
                return out
            }
            do {
                let actual = try DigestValidator.uncompressedSHA256(url)
                out.actualSHA256 = actual
                out.status = actual == file.hashValue ? .valid : .altered
                out.detail = actual == file.hashValue ? "SHA-256 of its content as the digest states"
                    : "SHA-256 of its content is \(actual), the digest states \(file.hashValue): it is not what CloudTrail delivered; check who can write the trail bucket"
            } catch {
                out.status = .altered
                out.detail = "cannot be decompressed (\(StageRunner.describe(error))): it is not what CloudTrail delivered; check who can write the trail bucket"
            }
            return out
        }
        let delivered = CloudTrailKey(key: file.key)?.deliveredAt
        if let delivered, delivered < fetchedFrom {
            out.status = .notFetched
            out.detail = "delivered before cloudtrail.start_date: never fetched"
        } else if let delivered, let keptFrom, delivered < keptFrom {
            out.status = .notKept
            out.detail = "its raw run was removed by retention: it cannot be checked any more"
        } else if let end = digestEnd, now.timeIntervalSince(end) < Self.grace {
            out.status = .pending
            out.detail = "not fetched yet (the digest is recent)"
        } else {
            out.detail = "named by the digest but never fetched: deleted from the bucket before fetch could store it, or its raw run was removed from the spool; check who can delete from both"
        }
        return out
    }

    /// Whether every log file the digest names can be looked at now (or the grace time is over).
    public func isReady(_ digest: CloudTrailDigest, locate: (String) -> LogFileLocation?) -> Bool {
        if let end = digest.end, now.timeIntervalSince(end) >= Self.grace { return true }
        return digest.logFiles.allSatisfy { $0.bucket != bucket || locate($0.key) != nil }
    }

    /// How long after the newest digest's start a log file must have been written to be flagged as undigested
    /// (CloudTrail may deliver a file this long after writing it, into the next digest).
    public static let deliverySlack: TimeInterval = 30 * 60

    /// Whether a fetched log file that no digest names is a finding: digests cover
    /// its time (a digest started before it was written, and one well after).
    public static func isUndigested(deliveredAt: Date, firstDigestStart: Date?, newestDigestStart: Date?) -> Bool {
        guard let firstDigestStart, let newestDigestStart else { return false }
        return deliveredAt >= firstDigestStart && deliveredAt.addingTimeInterval(deliverySlack) < newestDigestStart
    }
}
