import Foundation

/// Collects the raw answers of an inventory run from several threads: each
/// page is written to `responses/<account>/<region>/<service>/<Operation>-<NNNN>.<ext>`
/// of the run, and its manifest entry is added under a lock.
public final class InventoryCallStore: @unchecked Sendable {
    let writer: RawRunWriter
    private let lock = NSLock()
    /// Pages stored so far, per account/region and then per `<service>/<Operation>` (numbers the files).
    private var counters: [String: [String: Int]] = [:]
    private var errors: [String] = []
    private var incomplete = false
    private var failures: [RawRunManifest.Failure] = []
    private var calls = 0
    private var bytes: Int64 = 0

    public init(writer: RawRunWriter) {
        self.writer = writer
    }

    /// Stores one answer body, byte for byte.
    public func store(_ body: Data, service: String, operation: String, account: String, region: String,
                      parameters: [String: String], status: Int, requestedAt: Date, json: Bool) throws {
        let unit = "\(account)/\(region)"
        let call = "\(service)/\(operation)"
        let number: Int = lock.withLock {
            counters[unit, default: [:]][call, default: 0] += 1
            return counters[unit]![call]!
        }
        let path = "responses/\(unit)/\(call)" + String(format: "-%04d", number) + (json ? ".json" : ".xml")
        try SpoolFiles.writeAtomically(body, to: try writer.fileURL(path))
        let entry = RawRunManifest.Entry(path: path, service: service, operation: operation, account: account, region: region,
                                         parameters: parameters, requestedAt: UTCDate.iso8601(requestedAt), httpStatus: status,
                                         size: Int64(body.count), sha256: SHA256Hex.of(body))
        try lock.withLock {
            try writer.add(entry)
            calls += 1
            bytes += Int64(body.count)
        }
    }

    /// Forgets the page numbers of a finished account/region (nothing of it is stored again), so an
    /// organization's run does not keep a counter per call of every unit.
    public func finishUnit(account: String, region: String) {
        _ = lock.withLock { counters.removeValue(forKey: "\(account)/\(region)") }
    }

    /// Records a problem of one account/region/call; the run goes on.
    /// `retryLater` marks work left undone (throttled or unreachable to the end);
    /// `call` (`service Operation`) is kept in the manifest so the documents can say what is unknown.
    public func recordError(_ text: String, retryLater: Bool = false, account: String? = nil, region: String? = nil, call: String? = nil) {
        lock.withLock {
            errors.append(text)
            if retryLater { incomplete = true }
            if let call { failures.append(RawRunManifest.Failure(account: account, region: region, call: call, error: text)) }
        }
    }

    public var summary: (calls: Int, bytes: Int64, errors: [String], incomplete: Bool) {
        lock.withLock { (calls, bytes, errors, incomplete) }
    }

    /// Moves the counts and errors into `report`, then makes the run visible
    /// (or throws the empty run away).
    public func finish(into report: inout RunReport, clock: RuntimeClock) throws {
        let summary = self.summary
        report.errors.append(contentsOf: summary.errors)
        if summary.incomplete { report.incomplete = true }
        report.add("calls", Int64(summary.calls))
        report.add("bytes", summary.bytes)
        if writer.isEmpty {
            writer.discard()
            return
        }
        writer.failures = lock.withLock { failures }
        try writer.commit(finishedAt: clock.now())
        report.add("runs")
    }
}
