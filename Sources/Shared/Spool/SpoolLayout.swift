import Foundation

/// The folders of the spool, as `spool/README.md` describes them.
public struct SpoolLayout: Sendable {
    public let root: URL

    public init(root: String) {
        self.root = URL(fileURLWithPath: root, isDirectory: true)
    }

    public func raw(_ collector: String) -> URL { root.appendingPathComponent("raw/\(collector)", isDirectory: true) }
    public func ndjson(_ collector: String) -> URL { root.appendingPathComponent("ndjson/\(collector)", isDirectory: true) }
    public var state: URL { root.appendingPathComponent("state", isDirectory: true) }
    public func quarantine(_ stage: String) -> URL { root.appendingPathComponent("quarantine/\(stage)", isDirectory: true) }
    public func deadletter(_ collector: String) -> URL { root.appendingPathComponent("deadletter/\(collector)", isDirectory: true) }
    public func runs(_ stage: String) -> URL { root.appendingPathComponent("runs/\(stage)", isDirectory: true) }
    public var locks: URL { root.appendingPathComponent("locks", isDirectory: true) }
    /// Work in progress of `stage`; removed at the start of the stage's next run.
    public func incoming(_ stage: String) -> URL { root.appendingPathComponent(".incoming/\(stage)", isDirectory: true) }
    public func checkpoint(_ name: String) -> URL { state.appendingPathComponent("\(name).json") }
}
