import Foundation

/// Puts input a stage cannot process aside, with the reason beside it, so
/// nothing is lost silently and an operator can inspect and replay it.
public struct Quarantine: Sendable {
    let layout: SpoolLayout
    let stage: String

    public init(layout: SpoolLayout, stage: String) {
        self.layout = layout
        self.stage = stage
    }

    /// The quarantine location of `relativePath` of run `runID`.
    public func location(runID: String, relativePath: String) -> URL {
        layout.quarantine(stage).appendingPathComponent(runID, isDirectory: true).appendingPathComponent(relativePath)
    }

    /// Moves `file` into quarantine (or copies it when `keepOriginal`), writing `<path>.reason`.
    @discardableResult
    public func add(file: URL, runID: String, relativePath: String, reason: String, keepOriginal: Bool = false) throws -> URL {
        let target = location(runID: runID, relativePath: relativePath)
        try SpoolFiles.makeDirectory(target.deletingLastPathComponent())
        if keepOriginal {
            try? FileManager.default.removeItem(at: target)
            do {
                try FileManager.default.copyItem(at: file, to: target)
            } catch {
                throw CloudspoolError(.spool, "cannot copy \(file.path) into quarantine: \(error.localizedDescription)")
            }
        } else {
            try SpoolFiles.move(file, to: target)
        }
        try SpoolFiles.writeAtomically(Data((reason + "\n").utf8), to: target.appendingPathExtension("reason"))
        return target
    }

    /// The file collecting single rejected records of one input file.
    public func rejectedRecordsURL(runID: String, relativePath: String) -> URL {
        location(runID: runID, relativePath: relativePath + ".rejected.ndjson")
    }
}
