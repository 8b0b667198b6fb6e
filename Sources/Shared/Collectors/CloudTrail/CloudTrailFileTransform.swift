import Crypto
import Foundation

/// One CloudTrail log file turned into its `_bulk` lines, away from the
/// output: several run at once on the transform's workers, and the run writes
/// their results in the manifest's order, so the NDJSON is the same whatever
/// the number of workers.
struct CloudTrailFileTransform: Sendable {
    let builder: CloudTrailDocumentBuilder
    let quarantine: Quarantine
    /// Where the documents' buffers come from (the writer gives them back once written).
    let buffers: ByteBufferPool

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
        /// The action and document lines, in a buffer of `buffers`.
        var ndjson = ByteBufferPool.Buffer()
        var resourceEvents: [UInt8] = []
        var records: Int64 = 0
        var documents: Int64 = 0
        var repaired: Int64 = 0
        var rejected: Int64 = 0
        var rejectedFile: URL?
        var bytes: Int64 = 0
    }

    func run(_ job: Job) -> Outcome {
        // The file is checked against the manifest in the same pass that decompresses it: size first, the
        // SHA-256 of the compressed bytes as they are read, compared before anything of the file is kept.
        var hasher: SHA256?
        if let entry = job.entry, let folder = job.runFolder {
            do {
                try entry.checkStoredFile(in: folder)
            } catch let mismatch as RawFileMismatch {
                return .mismatch(mismatch)
            } catch {
                return .mismatch(RawFileMismatch(path: entry.path, reason: "cannot be checked: \(StageRunner.describe(error))"))
            }
            hasher = SHA256()
        }
        var built = Built()
        built.ndjson = buffers.take()
        var ndjson = built.ndjson.bytes   // taken out of its box: filled without access checks, put back at the end
        built.ndjson.bytes = []
        // CloudTrail gzip files inflate about eightfold, the documents add a little: one allocation instead of many copies.
        ndjson.reserveCapacity(Int(min(SpoolFiles.size(job.url), 1 << 27)) * 9)
        var scratch = CloudTrailDocumentBuilder.Scratch()
        var splitter = JSONRecordsSplitter()
        let rejected = RejectedRecordsFile(target: quarantine.rejectedRecordsURL(runID: job.runID, relativePath: job.relativePath))
        let builder = self.builder
        let provenance = job.provenance
        do {
            try GzipDecoder.decodeFile(job.url, input: { hasher?.update(bufferPointer: $0) }) { chunk in
                try splitter.feedScanned(chunk) { record, scanned in
                    built.records += 1
                    do {
                        if UTF8Repair.isValid(record) {
                            try builder.append(record: record, scanned: scanned, fileKey: job.key, account: job.account, region: job.region,
                                               provenance: provenance, to: &ndjson, resourceEvents: &built.resourceEvents, scratch: &scratch)
                        } else {
                            // Invalid UTF-8 inside a string: each bad byte becomes U+FFFD, and the record is counted.
                            let fixed = UTF8Repair.repaired(record).bytes
                            try fixed.withUnsafeBytes {
                                try builder.append(record: $0, fileKey: job.key, account: job.account, region: job.region, provenance: provenance,
                                                   to: &ndjson, resourceEvents: &built.resourceEvents, scratch: &scratch)
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
            if let entry = job.entry, let digest = hasher?.finalize().hexString {
                try entry.checkDigest(digest)
            }
            if rejected.count > 0 {
                try rejected.commit()
                built.rejected = rejected.count
                built.rejectedFile = rejected.target
            }
        } catch let mismatch as RawFileMismatch {
            rejected.discard()
            return .mismatch(mismatch)
        } catch {
            rejected.discard()
            // A file that is not what fetch stored is reported as such, even when it also fails to decode.
            if let entry = job.entry, let folder = job.runFolder {
                do { try entry.verify(in: folder) } catch let mismatch as RawFileMismatch { return .mismatch(mismatch) } catch {}
            }
            if let error = error as? CloudspoolError, error.code == .decompression || error.code == .format {
                return .corrupt(error)
            }
            return .corrupt(CloudspoolError(.spool, StageRunner.describe(error)))
        }
        built.bytes = SpoolFiles.size(job.url)
        built.ndjson.bytes = ndjson
        return .built(built)
    }
}
