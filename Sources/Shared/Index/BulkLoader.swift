import Foundation
import Logging

/// The load stage: sends NDJSON `_bulk` files to the index in batches,
/// retries what the index could not take yet, dead-letters what it rejects
/// for good, and advances `state/load.json` only past acknowledged lines.
public final class BulkLoader: @unchecked Sendable {
    /// `state/load.json`: bytes of each NDJSON file the index has acknowledged.
    public struct State: Codable, Sendable {
        /// Keyed by `<collector>/<file name>`.
        public var files: [String: Int64] = [:]
        public init() {}
    }

    let client: IndexClient
    let layout: SpoolLayout
    let settings: IndexSettings
    let retry: RetryPolicy
    let clock: RuntimeClock
    let logger: Logger
    let store: CheckpointStore<State>
    private var installedTemplates = Set<String>()
    /// One client per request in flight (slot i uses senders[i]).
    private var senders: [IndexClient] = []
    private let deadLetterLock = NSLock()

    public init(client: IndexClient, layout: SpoolLayout, settings: IndexSettings, clock: RuntimeClock = .system, logger: Logger) {
        self.client = client
        self.layout = layout
        self.settings = settings
        self.retry = RetryPolicy(maxRetries: settings.maxRetries, baseDelay: 0.5, maxDelay: 30)
        self.clock = clock
        self.logger = logger
        self.store = CheckpointStore(layout: layout, name: "load")
    }

    /// The NDJSON files of `collector` with bytes not yet acknowledged, oldest first.
    public func pendingFiles(collector: String) throws -> [(url: URL, offset: Int64)] {
        let state = try store.load() ?? State()
        let folder = layout.ndjson(collector)
        return SpoolFiles.list(folder).filter { $0.hasSuffix(".ndjson") }.compactMap { name in
            let url = folder.appendingPathComponent(name)
            let done = state.files["\(collector)/\(name)"] ?? 0
            return done < SpoolFiles.size(url) ? (url, done) : nil
        }
    }

    /// Loads every pending file of `collector`; its `templates` are installed first when there is work.
    public func run(collector: String, templates: [IndexTemplate], report: inout RunReport) throws {
        let files = try pendingFiles(collector: collector)
        guard !files.isEmpty else { return }
        for template in templates { try installTemplate(template) }
        logger.info("loading", metadata: ["collector": "\(collector)", "files": "\(files.count)"])
        for (url, offset) in files {
            try StopRequest.checkpoint("before \(url.lastPathComponent)")
            try load(file: url, collector: collector, from: offset, checkpoint: true, report: &report)
        }
    }

    /// Sends a file, or every `.ndjson` file of a folder, again from its start;
    /// checkpoints are not moved.
    public func replay(path: URL, collector: String, templates: [IndexTemplate], report: inout RunReport) throws {
        let files: [URL]
        if SpoolFiles.isDirectory(path) {
            files = SpoolFiles.list(path).filter { $0.hasSuffix(".ndjson") }.map { path.appendingPathComponent($0) }
        } else if FileManager.default.fileExists(atPath: path.path) {
            files = [path]
        } else {
            throw CloudspoolError(.configuration, "\(path.path) does not exist")
        }
        for template in templates { try installTemplate(template) }
        for url in files {
            try load(file: url, collector: collector, from: 0, checkpoint: false, report: &report)
        }
    }

    func installTemplate(_ template: IndexTemplate) throws {
        guard !installedTemplates.contains(template.name) else { return }
        try withRetries(what: "installing index template \(template.name)") {
            try client.putIndexTemplate(name: template.name, body: template.body)
        }
        installedTemplates.insert(template.name)
    }

    /// One file from `offset`, batch by batch.
    func load(file url: URL, collector: String, from offset: Int64, checkpoint: Bool, report: inout RunReport) throws {
        var reader = try NDJSONPairReader(url: url, offset: offset)
        defer { reader.close() }
        let key = "\(collector)/\(url.lastPathComponent)"
        var batch = BulkBatch()
        var acknowledged = offset
        // Requests in flight, oldest first; the checkpoint only moves past the oldest once it is acknowledged.
        var inFlight: [BulkRequestInFlight] = []
        var submitted = 0
        let width = settings.bulkConcurrency
        while senders.count < width { senders.append(senders.isEmpty ? client : try client.sibling()) }
        func completeOldest(_ report: inout RunReport) throws {
            let oldest = inFlight.removeFirst()
            let (partial, error) = oldest.wait()
            report.merge(partial)
            if let error {
                // Let the others finish (their documents are overwritten when resent), then stop here.
                for other in inFlight { report.merge(other.wait().0) }
                inFlight.removeAll()
                throw error
            }
            acknowledged = oldest.batch.endOffset
            if checkpoint {
                var state = try store.load() ?? State()
                state.files[key] = acknowledged
                try store.save(state)
            }
        }
        func flush(_ report: inout RunReport, final: Bool = false) throws {
            if StopRequest.isRequested {
                // A safe point: let the requests in flight finish (and be checkpointed), send nothing new.
                while !inFlight.isEmpty { try completeOldest(&report) }
                try StopRequest.checkpoint("loading \(url.lastPathComponent)")
            }
            if batch.endOffset > max(acknowledged, inFlight.last?.batch.endOffset ?? 0) {
                if inFlight.count == width { try completeOldest(&report) }
                let request = BulkRequestInFlight(batch: batch)
                let sender = senders[submitted % width]
                submitted += 1
                inFlight.append(request)
                let thread = Thread { [self] in
                    var partial = RunReport(stage: "load", runId: "", startedAt: Date(timeIntervalSince1970: 0))
                    do {
                        if !request.batch.isEmpty {
                            try send(request.batch, client: sender, collector: collector, file: url, report: &partial)
                        }
                        request.finish(partial, nil)
                    } catch {
                        request.finish(partial, error)
                    }
                }
                thread.stackSize = 1 << 20
                thread.start()
                batch = BulkBatch()
            }
            if final {
                while !inFlight.isEmpty { try completeOldest(&report) }
            }
        }
        do {
            while let pair = try reader.next() {
                if !batch.isEmpty && (batch.body.count + pair.action.count + pair.document.count > settings.bulkMaxBytes || batch.count >= settings.bulkMaxDocs) {
                    try flush(&report)
                }
                if !pair.document.isEmpty, pair.document.withUnsafeBytes({ (try? JSONObjectScanner.members(of: $0)) == nil }) {
                    // Never sent: a malformed line can make the index refuse the whole request.
                    var letter: [UInt8] = []
                    var single = BulkBatch()
                    single.append(pair)
                    single.appendDeadLetter(0, status: 0, reason: "the document line is not a JSON object", to: &letter)
                    try writeDeadLetters(letter, collector: collector)
                    report.add("deadlettered")
                    report.errors.append("a document line of \(url.lastPathComponent) ending at byte \(pair.endOffset) is not JSON; dead-lettered")
                    batch.advance(to: pair.endOffset)
                    continue
                }
                batch.append(pair)
            }
            try flush(&report, final: true)
        } catch let error as CloudspoolError where error.code == .format {
            // The file itself is broken: what came before was sent; set it aside with the reason.
            try flush(&report, final: true)
            let reason = "\(error.message); the documents before byte \(acknowledged) were indexed"
            let target = try Quarantine(layout: layout, stage: "load").add(file: url, runID: collector, relativePath: url.lastPathComponent,
                                                                            reason: reason, keepOriginal: false)
            if checkpoint {
                var state = try store.load() ?? State()
                state.files[key] = nil
                try store.save(state)
            }
            report.errors.append("quarantined \(url.lastPathComponent): \(error.message); see \(target.path).reason")
            report.add("quarantined")
            return
        }
        report.add("files")
        logger.info("file loaded", metadata: ["file": "\(url.lastPathComponent)", "documents": "\(report.count("documents"))"])
    }

    /// Sends one batch until every item is acknowledged or dead-lettered.
    func send(_ batch: BulkBatch, client: IndexClient, collector: String, file: URL, report: inout RunReport) throws {
        try deliver(batch, items: Array(0..<batch.count), client: client, collector: collector, file: file, report: &report)
        report.add("documents", Int64(batch.count))
        report.add("bytes", Int64(batch.body.count))
    }

    /// Sends `items` of `batch`, retrying what the index refuses for now. A
    /// request the index finds too large (HTTP 413) is split in two; a
    /// document refused alone is dead-lettered with the reason. An answer that
    /// does not hold one item per document sent is a failed request.
    func deliver(_ batch: BulkBatch, items: [Int], client: IndexClient, collector: String, file: URL, report: inout RunReport) throws {
        var pending = items
        var attempt = 0
        var deadLetters: [UInt8] = []
        while !pending.isEmpty {
            var body = batch.body(for: pending)
            var headers: [(String, String)] = []
            if settings.compression == .gzip {
                body = try GzipEncoder.compress(body)
                headers.append(("Content-Encoding", "gzip"))
            }
            var retryable: [Int] = []
            var failure: String?
            var retryAfter: String?
            do {
                report.add("wire_bytes", Int64(body.count))
                let response = try client.send(method: "POST", url: settings.url + "/_bulk", body: body, contentType: "application/x-ndjson", headers: headers)
                switch response.status {
                case 200..<300 where BulkResponse.reportsNoErrors(response.body):
                    let count = BulkResponse.itemCount(response.body)
                    if count == pending.count {
                        report.add("indexed", Int64(pending.count))
                    } else {
                        retryable = pending
                        failure = "the index answered \"errors\":false with \(count.map(String.init) ?? "no readable") items for \(pending.count) documents sent"
                    }
                case 200..<300:
                    let answer = try BulkResponse.parse(response.body)
                    guard answer.items.count == pending.count else {
                        retryable = pending
                        failure = "the index answered \(answer.items.count) items for \(pending.count) documents sent"
                        break
                    }
                    for (n, item) in answer.items.enumerated() {
                        let index = pending[n]
                        if item.isSuccess {
                            report.add("indexed")
                        } else if item.isRetryable {
                            retryable.append(index)
                        } else {
                            batch.appendDeadLetter(index, status: item.status, reason: item.error ?? "rejected", to: &deadLetters)
                            report.add("deadlettered")
                        }
                    }
                    if !retryable.isEmpty { failure = "\(retryable.count) of \(pending.count) documents were refused for now (HTTP 429/5xx per item)" }
                case 413 where pending.count > 1:
                    // Too large together: each half on its own (down to single documents).
                    try writeDeadLetters(deadLetters, collector: collector)
                    let half = pending.count / 2
                    try deliver(batch, items: Array(pending[..<half]), client: client, collector: collector, file: file, report: &report)
                    try deliver(batch, items: Array(pending[half...]), client: client, collector: collector, file: file, report: &report)
                    return
                case 413:
                    batch.appendDeadLetter(pending[0], status: 413, reason: "the index refuses this document alone as too large (HTTP 413 \(IndexClient.describe(response))); "
                                           + "raise http.max_content_length on the index or index.bulk_max_bytes", to: &deadLetters)
                    report.add("deadlettered")
                case 429, 500, 502, 503, 504:
                    retryable = pending
                    retryAfter = response.head.headers["retry-after"]
                    failure = "the index answered HTTP \(response.status) \(IndexClient.describe(response))"
                default:
                    throw CloudspoolError(.index, "the index refused a _bulk request: HTTP \(response.status) \(IndexClient.describe(response))\(IndexClient.advice(response.status))")
                }
            } catch let error as HTTPClientError {
                retryable = pending
                failure = "\(error)"
            }
            pending = retryable
            guard let failure, !pending.isEmpty else { break }
            guard attempt < retry.maxRetries else {
                try writeDeadLetters(deadLetters, collector: collector)
                throw CloudspoolError(.index, "giving up on \(file.lastPathComponent) after \(attempt + 1) attempts: \(failure); nothing is lost: the next run resends from the last acknowledged document")
            }
            let wait = retry.delay(attempt: attempt, retryAfter: retryAfter)
            report.add("retries")
            logger.warning("retrying bulk request", metadata: ["attempt": "\(attempt + 1)", "documents": "\(pending.count)", "wait_s": "\(String(format: "%.2f", wait))", "reason": "\(failure)"])
            clock.sleep(wait)
            attempt += 1
        }
        try writeDeadLetters(deadLetters, collector: collector)
        if !deadLetters.isEmpty {
            let count = deadLetters.reduce(0) { $1 == 10 ? $0 + 1 : $0 }
            report.errors.append("the index rejected \(count) document(s) of \(file.lastPathComponent) for good; they are in \(layout.deadletter(collector).path)/\(UTCDate.day(clock.now())).ndjson with the index's reason")
        }
    }

    func writeDeadLetters(_ lines: [UInt8], collector: String) throws {
        guard !lines.isEmpty else { return }
        deadLetterLock.lock()
        defer { deadLetterLock.unlock() }
        let folder = layout.deadletter(collector)
        try SpoolFiles.makeDirectory(folder)
        let url = folder.appendingPathComponent("\(UTCDate.day(clock.now())).ndjson")
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, SpoolFiles.fileMode)
        guard fd >= 0 else {
            // O_NOFOLLOW: a symlink planted in the spool is refused, never written through (ELOOP).
            throw CloudspoolError(.spool, "cannot open dead-letter file \(url.path): \(systemErrorText())\(errno == ELOOP ? " (it is a symbolic link: cloudspool never follows links inside the spool; remove it)" : "")")
        }
        defer { close(fd) }
        let ok = lines.withUnsafeBytes { buffer -> Bool in
            var done = 0
            while done < buffer.count {
                let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n <= 0 { return false }
                done += n
            }
            return fsync(fd) == 0
        }
        guard ok else { throw CloudspoolError(.spool, "cannot write dead-letter file \(url.path): \(systemErrorText())") }
        logger.error("documents rejected by the index were dead-lettered", metadata: ["file": "\(url.path)"])
    }

    /// Runs `body`, retrying HTTP transfer errors and 429/5xx answers.
    func withRetries(what: String, _ body: () throws -> Void) throws {
        var attempt = 0
        while true {
            do {
                try body()
                return
            } catch let error as HTTPClientError where attempt < retry.maxRetries {
                logger.warning("retrying", metadata: ["what": "\(what)", "error": "\(error)"])
            } catch let error as HTTPClientError {
                throw CloudspoolError(.index, "the index at \(settings.url) is unreachable while \(what): \(error.detail); nothing was lost, the next run continues")
            } catch let error as CloudspoolError where attempt < retry.maxRetries && (error.message.contains("HTTP 429") || error.message.contains("HTTP 50")) {
                logger.warning("retrying", metadata: ["what": "\(what)", "error": "\(error)"])
            }
            clock.sleep(retry.delay(attempt: attempt))
            attempt += 1
        }
    }
}

final class BulkRequestInFlight: @unchecked Sendable {
    let batch: BulkBatch
    private let done = DispatchSemaphore(value: 0)
    private var outcome: (RunReport?, Error?) = (nil, nil)

    init(batch: BulkBatch) {
        self.batch = batch
    }

    func finish(_ report: RunReport, _ error: Error?) {
        outcome = (report, error)
        done.signal()
    }

    /// Blocks until the request is done (acknowledged, dead-lettered, or given up).
    func wait() -> (RunReport, Error?) {
        done.wait()
        done.signal()   // later waits return at once
        return (outcome.0 ?? RunReport(stage: "load", runId: "", startedAt: Date(timeIntervalSince1970: 0)), outcome.1)
    }
}

/// The documents of one `_bulk` request, as byte ranges of one buffer.
struct BulkBatch: Sendable {
    private(set) var body: [UInt8] = []
    private var ranges: [(action: Range<Int>, document: Range<Int>)] = []
    private(set) var endOffset: Int64 = 0

    var isEmpty: Bool { ranges.isEmpty }

    /// Moves the end offset past a pair that was handled without sending it.
    mutating func advance(to offset: Int64) {
        endOffset = offset
    }
    var count: Int { ranges.count }

    mutating func append(_ pair: NDJSONPairReader.Pair) {
        let a = body.count
        body.append(contentsOf: pair.action)
        let d = body.count
        body.append(contentsOf: pair.document)
        ranges.append((a..<d, d..<body.count))
        endOffset = pair.endOffset
    }

    /// The request body for the given items (all of them: the buffer as it is).
    func body(for items: [Int]) -> Data {
        if items.count == ranges.count { return Data(body) }
        var out = Data()
        for i in items {
            out.append(contentsOf: body[ranges[i].action])
            out.append(contentsOf: body[ranges[i].document])
        }
        return out
    }

    /// `{"reason":…,"status":…,"action":…,"document":…}` for a rejected item.
    func appendDeadLetter(_ item: Int, status: Int, reason: String, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"reason":"#.utf8)
        JSONText.appendString(reason, to: &out)
        out.append(contentsOf: #","status":\#(status),"action":"#.utf8)
        out.append(contentsOf: body[ranges[item].action].dropLast())
        let document = body[ranges[item].document].dropLast()
        let valid = document.withUnsafeBytes { (try? JSONObjectScanner.members(of: $0)) != nil }
        if valid {
            out.append(contentsOf: #","document":"#.utf8)
            out.append(contentsOf: document)
        } else {
            out.append(contentsOf: #","document_text":"#.utf8)
            JSONText.appendString(String(decoding: document, as: UTF8.self), to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
    }
}
