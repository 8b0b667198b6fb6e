import Foundation

/// A transform of one collector's raw runs into NDJSON. The queue of pending
/// runs, the checkpoint and replays work the same for every collector; each
/// transform only says how one run becomes documents.
public protocol RawRunTransform: CollectorTransform {
    /// The collector whose raw runs (`raw/<collector>/`) this transform reads.
    static var collector: String { get }
    var layout: SpoolLayout { get }
    var clock: RuntimeClock { get }
    /// Transforms one raw run into NDJSON files named `<outputName>.<NNNN>.ndjson`.
    /// `replay` is set when an operator asked for it by hand: then nothing is
    /// quarantined and no state of the regular runs is changed.
    func transform(runFolder: URL, outputName: String, replay: Bool, report: inout RunReport) throws
}

extension RawRunTransform {
    /// Transforms every pending raw run, oldest first, checkpointing each.
    public func run(report: inout RunReport) throws {
        try PendingRawRuns(layout: layout, collector: Self.collector).forEach(report: &report) { folder, report in
            try transform(runFolder: folder, outputName: folder.lastPathComponent, replay: false, report: &report)
        }
    }

    /// Transforms a raw run again, whatever the checkpoint says: new NDJSON names, the same documents and ids.
    public func replay(runFolder: URL, report: inout RunReport) throws {
        try transform(runFolder: runFolder, outputName: PendingRawRuns.replayName(runFolder, at: clock.now()), replay: true, report: &report)
    }

    public func replay(path: URL, report: inout RunReport) throws {
        try replay(runFolder: path, report: &report)
    }
}
