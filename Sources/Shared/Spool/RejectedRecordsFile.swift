import Foundation

/// The `.rejected.ndjson` file of one input, written as records are rejected
/// (so a file whose every record is bad does not pile up in memory), under a
/// temporary name beside its final place, and renamed into place by `commit()`.
final class RejectedRecordsFile {
    let target: URL
    private var file: OutputFile?
    private var line: [UInt8] = []
    private(set) var count: Int64 = 0

    init(target: URL) {
        self.target = target
    }

    /// Appends `{"reason":…,"file":…,"record_text":…}` for a rejected record.
    func append(reason: String, file key: String, record: UnsafeRawBufferPointer) throws {
        if file == nil {
            try SpoolFiles.makeDirectory(target.deletingLastPathComponent())
            file = try OutputFile(creating: target.deletingLastPathComponent()
                .appendingPathComponent(".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(target.lastPathComponent)"))
        }
        line.removeAll(keepingCapacity: true)
        line.append(contentsOf: #"{"reason":"#.utf8)
        JSONText.appendString(reason, to: &line)
        line.append(contentsOf: #","file":"#.utf8)
        JSONText.appendString(key, to: &line)
        line.append(contentsOf: #","record_text":""#.utf8)
        var budget = Int.max
        JSONText.appendEscapedContent(record.bindMemory(to: UInt8.self), limit: &budget, to: &line)
        line.append(contentsOf: "\"}\n".utf8)
        try file?.write(line)
        count += 1
    }

    /// Makes the file visible under its final name (nothing when no record was rejected).
    func commit() throws {
        guard let file else { return }
        try file.sync()
        try file.close()
        try SpoolFiles.rename(file.url, to: target)
        self.file = nil
    }

    /// Drops what was written (the whole input is quarantined instead).
    func discard() {
        guard let file else { return }
        try? file.close()
        try? FileManager.default.removeItem(at: file.url)
        self.file = nil
        count = 0
    }
}
