import Foundation

/// One CloudTrail log file turned into its `_bulk` lines, away from the
/// output: several run at once on the transform's workers, and the run writes
/// their results in the manifest's order, so the NDJSON is the same whatever
/// the number of workers.
struct CloudTrailFileTransform: Sendable {
    let builder: CloudTrailDocumentBuilder
    let quarantine: Quarantine

    /// A file to transform: where it is and what the manifest says of it.
    struct Job: Sendable {
        let url: URL
        let key: String
        let account: String?
        let region: String?
        let runID: String
        let relativePath: String
        /// Checked against the stored file first (nil for a loose file replayed by hand).
        let entry: RawRunManifest.Entry?
        let runFolder: URL?

        /// `cloudspool.run_id` and `raw_file` of its documents (none for a loose file).
        var provenance: [UInt8] {
            entry == nil ? [] : CloudTrailDocumentBuilder.provenance(runID: runID, rawFile: relativePath)
        }
    }

    /// What became of a file.
    enum Outcome: Sendable {
        /// Its documents (action and document lines) and the changing events it holds.
        case built(Built)
        /// The stored file is not what the manifest says.
        case mismatch(RawFileMismatch)
        /// Not a readable CloudTrail log file (corrupt gzip, truncated JSON, no Records).
        case corrupt(CloudspoolError)
    }

    struct Built: Sendable {
        var ndjson: [UInt8] = []
        var resourceEvents: [UInt8] = []
        var records: Int64 = 0
        var documents: Int64 = 0
        var repaired: Int64 = 0
        var rejected: Int64 = 0
        var rejectedFile: URL?
        var bytes: Int64 = 0
    }

    func run(_ job: Job) -> Outcome {
        if let entry = job.entry, let folder = job.runFolder {
            do {
                try entry.verify(in: folder)
            } catch let mismatch as RawFileMismatch {
                return .mismatch(mismatch)
            } catch {
                return .mismatch(RawFileMismatch(path: entry.path, reason: "cannot be checked: \(StageRunner.describe(error))"))
            }
        }
        var built = Built()
        // CloudTrail gzip files inflate about eightfold, the documents add a little: one allocation instead of many copies.
        built.ndjson.reserveCapacity(Int(min(SpoolFiles.size(job.url), 1 << 27)) * 9)
        var splitter = JSONRecordsSplitter()
        let rejected = RejectedRecordsFile(target: quarantine.rejectedRecordsURL(runID: job.runID, relativePath: job.relativePath))
        let builder = self.builder
        let provenance = job.provenance
        do {
            try GzipDecoder.decodeFile(job.url) { chunk in
                try splitter.feed(chunk) { record in
                    built.records += 1
                    do {
                        if UTF8Repair.isValid(record) {
                            try builder.append(record: record, fileKey: job.key, account: job.account, region: job.region, provenance: provenance,
                                               to: &built.ndjson, resourceEvents: &built.resourceEvents)
                        } else {
                            // Invalid UTF-8 inside a string: each bad byte becomes U+FFFD, and the record is counted.
                            let fixed = UTF8Repair.repaired(record).bytes
                            try fixed.withUnsafeBytes {
                                try builder.append(record: $0, fileKey: job.key, account: job.account, region: job.region, provenance: provenance,
                                                   to: &built.ndjson, resourceEvents: &built.resourceEvents)
                            }
                            built.repaired += 1
                        }
                        built.documents += 1
                    } catch let error as CloudTrailDocumentBuilder.Rejection {
                        try rejected.append(reason: error.reason, file: job.key, record: record)
                    }
                }
            }
            try splitter.finish()
            if rejected.count > 0 {
                try rejected.commit()
                built.rejected = rejected.count
                built.rejectedFile = rejected.target
            }
        } catch let error as CloudspoolError where error.code == .decompression || error.code == .format {
            rejected.discard()
            return .corrupt(error)
        } catch {
            rejected.discard()
            return .corrupt(CloudspoolError(.spool, StageRunner.describe(error)))
        }
        built.bytes = SpoolFiles.size(job.url)
        return .built(built)
    }
}
