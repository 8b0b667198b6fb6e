import Foundation
import Logging

/// The monitoring collector's own transform: it writes nothing. Its raw runs
/// are read by the inventory transform (`MonitoringJoin`), which takes the
/// run closest in time to each inventory run; this marks each run as done so
/// that retention removes it after `retention.raw_days`.
public struct MonitoringTransformer: RawRunTransform {
    public static let collector = MonitoringFetcher.collector

    public let layout: SpoolLayout
    public let clock: RuntimeClock
    let logger: Logger

    public init(context: StageContext) {
        layout = context.layout
        clock = context.clock
        logger = context.logger
    }

    public func transform(runFolder: URL, outputName: String, replay: Bool, report: inout RunReport) throws {
        guard !replay else {
            throw CloudspoolError(.configuration, "\(runFolder.path) is a monitoring run: the inventory transform reads it; replay the inventory run it belongs to (raw/inventory/<run-id>) instead")
        }
        logger.debug("monitoring run kept for the inventory transform", metadata: ["run": "\(runFolder.lastPathComponent)"])
    }
}
