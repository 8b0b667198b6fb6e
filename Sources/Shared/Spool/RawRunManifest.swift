import Foundation

/// What a fetch run asked AWS and what it stored (`manifest.json` of a raw run).
///
/// It is the audit record of the raw capture: every stored file has an entry
/// with its size and SHA-256, and nothing secret is ever in it.
public struct RawRunManifest: Codable, Sendable {
    /// One stored file.
    public struct Entry: Codable, Sendable, Equatable {
        /// Path of the stored file, relative to the run folder.
        public var path: String
        public var service: String
        public var operation: String
        public var account: String?
        public var region: String?
        /// The request's parameters (bucket, key, filters), never credentials.
        public var parameters: [String: String]
        public var requestedAt: String
        public var httpStatus: Int
        public var size: Int64
        public var sha256: String

        public init(path: String, service: String, operation: String, account: String?, region: String?,
                    parameters: [String: String], requestedAt: String, httpStatus: Int, size: Int64, sha256: String) {
            self.path = path
            self.service = service
            self.operation = operation
            self.account = account
            self.region = region
            self.parameters = parameters
            self.requestedAt = requestedAt
            self.httpStatus = httpStatus
            self.size = size
            self.sha256 = sha256
        }
    }

    /// A call that failed during the run (the run's documents say which figures are unknown).
    public struct Failure: Codable, Sendable, Equatable {
        public var account: String?
        public var region: String?
        /// `service Operation`, e.g. `backup ListBackupJobs`.
        public var call: String
        public var error: String

        public init(account: String?, region: String?, call: String, error: String) {
            self.account = account
            self.region = region
            self.call = call
            self.error = error
        }
    }

    /// The link to the run committed before this one of the same collector:
    /// each manifest names the previous run and the SHA-256 of its
    /// `manifest.json` as it was at commit time, so a run deleted or rewritten
    /// afterwards breaks the chain (`cloudspool-audit verify`).
    public struct Chain: Codable, Sendable, Equatable {
        /// The previous run's id; absent for the first run of a collector.
        public var previousRunId: String?
        /// SHA-256 of the previous run's `manifest.json` bytes.
        public var previousManifestSHA256: String?

        public init(previousRunId: String?, previousManifestSHA256: String?) {
            self.previousRunId = previousRunId
            self.previousManifestSHA256 = previousManifestSHA256
        }
    }

    public var version: Int = 1
    public var collector: String
    public var runId: String
    public var startedAt: String
    public var finishedAt: String
    public var entries: [Entry]
    /// Calls that failed; absent when none did.
    public var failures: [Failure]?
    /// The chain link; absent in runs written before runs were chained, and
    /// in runs set aside before they were committed (`quarantine/fetch/`).
    public var chain: Chain?

    public init(collector: String, runId: String, startedAt: String, finishedAt: String, entries: [Entry], failures: [Failure]? = nil,
                chain: Chain? = nil) {
        self.collector = collector
        self.runId = runId
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.entries = entries
        self.failures = failures
        self.chain = chain
    }

    public static let fileName = "manifest.json"

    public static func read(runFolder: URL) throws -> RawRunManifest {
        try readWithBytes(runFolder: runFolder).manifest
    }

    /// The manifest and its bytes as stored (the chain hashes the bytes).
    public static func readWithBytes(runFolder: URL) throws -> (manifest: RawRunManifest, bytes: Data) {
        let url = runFolder.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CloudspoolError(.spool, "\(runFolder.path) has no readable manifest.json: it is not a raw run written by cloudspool-fetch")
        }
        return (try decode(data, url: url), data)
    }

    static func decode(_ data: Data, url: URL) throws -> RawRunManifest {
        do {
            return try JSONDecoder().decode(RawRunManifest.self, from: data)
        } catch {
            throw CloudspoolError(.spool, "\(url.path) is not a valid run manifest (\(error)); the raw run was edited by hand? restore it or move the run aside")
        }
    }

    /// The manifest encoded whole (pretty-printed, keys sorted), for tools and tests; `RawRunWriter` writes
    /// `manifest.json` itself, one entry per line, from the entries it streamed to disk.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
