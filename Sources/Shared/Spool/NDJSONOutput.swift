import Foundation

/// The NDJSON files of one transform run: written under `.incoming/transform/`,
/// split at about `settings.maxFileBytes` (only between input files, so one input's
/// documents stay together), and renamed into `ndjson/<collector>/` by
/// `commit()` once the whole run is done.
public final class NDJSONOutput {
    /// How the files are cut and written.
    public struct Settings: Sendable {
        /// A file is closed at the first input boundary past this size.
        public var maxFileBytes: Int
        /// Write-behind window in bytes, 0 for none (see ``WriteBehind``).
        public var writeBehindBytes: Int

        public init(maxFileBytes: Int, writeBehindBytes: Int = 0) {
            self.maxFileBytes = maxFileBytes
            self.writeBehindBytes = writeBehindBytes
        }
    }

    let layout: SpoolLayout
    let collector: String
    let baseName: String
    let settings: Settings
    private var current: OutputFile?
    private var finished: [URL] = []
    private var part = 0
    public private(set) var bytes: Int64 = 0

    /// Files are named `<baseName>.<NNNN>.ndjson`.
    public init(layout: SpoolLayout, collector: String, baseName: String, settings: Settings) throws {
        self.layout = layout
        self.collector = collector
        self.baseName = baseName
        self.settings = settings
        try SpoolFiles.makeDirectory(layout.incoming("transform"))
    }

    /// A position to roll back to if the input being processed turns out bad.
    public struct Mark { let part: Int; let offset: Int64 }

    public func mark() throws -> Mark {
        let file = try openFile()
        return Mark(part: part, offset: file.bytesWritten)
    }

    public func rollback(to mark: Mark) throws {
        guard let current, mark.part == part else { return }
        bytes -= current.bytesWritten - mark.offset
        try current.truncate(to: mark.offset)
    }

    public func write(_ data: [UInt8]) throws {
        try openFile().write(data)
        bytes += Int64(data.count)
    }

    /// Starts a new file if the current one is full; call between inputs.
    public func rotateIfFull() throws {
        if let current, current.bytesWritten >= settings.maxFileBytes {
            try close(current)
        }
    }

    private func openFile() throws -> OutputFile {
        if let current { return current }
        let name = String(format: "%@.%04d.ndjson", baseName, part)
        // Prefixed by the collector while incoming: one transform may write for two collectors with one base name.
        let file = try OutputFile(creating: layout.incoming("transform").appendingPathComponent("\(collector).\(name)"),
                                  writeBehind: settings.writeBehindBytes)
        current = file
        return file
    }

    private func close(_ file: OutputFile) throws {
        try file.sync()
        try file.close()
        if file.bytesWritten > 0 {
            finished.append(file.url)
            part += 1
        } else {
            try? FileManager.default.removeItem(at: file.url)
        }
        current = nil
    }

    /// Appends the files of `other` (written apart, on another worker) after this output's own, renamed
    /// into this output's sequence: the result is as if they had been written here.
    public func adopt(_ other: NDJSONOutput) throws {
        if let current { try close(current) }
        if let last = other.current { try other.close(last) }
        for url in other.finished {
            let name = String(format: "%@.%04d.ndjson", baseName, part)
            let target = layout.incoming("transform").appendingPathComponent("\(collector).\(name)")
            try SpoolFiles.rename(url, to: target)
            finished.append(target)
            part += 1
        }
        bytes += other.bytes
        other.finished = []
        other.bytes = 0
    }

    /// Makes every file of the run visible; returns their final locations.
    @discardableResult
    public func commit() throws -> [URL] {
        if let current { try close(current) }
        let folder = layout.ndjson(collector)
        try SpoolFiles.makeDirectory(folder)
        var result: [URL] = []
        for url in finished {
            let target = folder.appendingPathComponent(String(url.lastPathComponent.dropFirst(collector.count + 1)))
            try SpoolFiles.rename(url, to: target)
            result.append(target)
        }
        finished = []
        return result
    }

    /// Removes what was written (the run failed).
    public func discard() {
        if let current { try? current.close(); try? FileManager.default.removeItem(at: current.url) }
        for url in finished { try? FileManager.default.removeItem(at: url) }
        current = nil
        finished = []
    }
}
