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

    public var version: Int = 1
    public var collector: String
    public var runId: String
    public var startedAt: String
    public var finishedAt: String
    public var entries: [Entry]
    /// Calls that failed; absent when none did.
    public var failures: [Failure]?

    public static let fileName = "manifest.json"

    public static func read(runFolder: URL) throws -> RawRunManifest {
        let url = runFolder.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CloudspoolError(.spool, "\(runFolder.path) has no readable manifest.json: it is not a raw run written by cloudspool-fetch")
        }
        do {
            return try JSONDecoder().decode(RawRunManifest.self, from: data)
        } catch {
            throw CloudspoolError(.spool, "\(url.path) is not a valid run manifest (\(error)); the raw run was edited by hand? restore it or move the run aside")
        }
    }
}
