import Crypto
import Foundation
import Logging

/// Joins one inventory run with the monitoring run closest to it in time:
/// reads the monitoring hosts source by source, one host at a time, matches
/// each with the run's EC2 instances, and writes a document for every host
/// that matches no instance (`monitoring.unmatched_host`, when
/// `report_unmatched_hosts`) or several (`monitoring.ambiguous_host`) into
/// the inventory's NDJSON. Memory grows with the instances and the matches,
/// not with the monitoring hosts.
struct MonitoringJoin {
    let settings: MonitoringSettings
    let layout: SpoolLayout
    let logger: Logger

    /// Candidates listed at most on an ambiguous host's document.
    static let maxCandidates = 100

    /// The monitoring run closest in time to `time`, at most `maxAge` away (the later one of two as close).
    static func nearestRun(layout: SpoolLayout, to time: Date, maxAge: TimeInterval) -> (folder: URL, date: Date)? {
        let folder = layout.raw(MonitoringFetcher.collector)
        var best: (folder: URL, date: Date, distance: TimeInterval)?
        for name in SpoolFiles.list(folder) {
            guard let date = RunID(name)?.date else { continue }
            let distance = abs(date.timeIntervalSince(time))
            guard distance <= maxAge else { continue }
            if let current = best, current.distance < distance { continue }
            let run = folder.appendingPathComponent(name, isDirectory: true)
            guard FileManager.default.fileExists(atPath: run.appendingPathComponent(RawRunManifest.fileName).path) else { continue }
            best = (run, date, distance)
        }
        return best.map { ($0.folder, $0.date) }
    }

    func join(instances: [MonitoringInstance], collectedAt: Date, runID: String, index: String, output: NDJSONOutput,
              report: inout RunReport) throws -> MonitoringOutcome {
        let configured = settings.sources.map(\.name)
        guard let run = Self.nearestRun(layout: layout, to: collectedAt, maxAge: TimeInterval(settings.maxAgeMinutes * 60)) else {
            let newest = SpoolFiles.list(layout.raw(MonitoringFetcher.collector)).compactMap { RunID($0)?.date }.max()
            let reason = "no monitoring run within \(settings.maxAgeMinutes) minutes (max_age_minutes) of the inventory run"
                + (newest.map { " (the nearest is from \(UTCDate.iso8601($0)))" } ?? " (there is none)")
                + "; is cloudspool-fetch fetching the monitoring collector?"
            report.errors.append("inventory run \(runID): \(reason); every instance says monitoring.monitored=unknown")
            return .unknown(sources: configured, reason: reason)
        }
        let asOf = UTCDate.iso8601(run.date)
        let reader: MonitoringRunReader
        do {
            reader = try MonitoringRunReader(folder: run.folder, idVariables: Set(settings.instanceIdVariables.map(MonitoringHost.normalisedVariableName)))
        } catch let error as CloudspoolError {
            report.errors.append("inventory run \(runID): monitoring run \(run.folder.lastPathComponent): \(error.message); every instance says monitoring.monitored=unknown")
            return .unknown(sources: configured, reason: error.message, asOf: asOf)
        }
        let matcher = MonitoringMatcher(instances: instances, rules: settings.match)
        let ruleRank = Dictionary(uniqueKeysWithValues: settings.match.enumerated().map { ($1, $0) })
        var unreadable: [String: String] = [:]
        var matches: [String: [MonitoringOutcome.Match]] = [:]
        let context = HostDocumentContext(index: index, runID: runID, collectedAt: UTCDate.iso8601(collectedAt), asOf: asOf)
        for (rank, source) in reader.sources.enumerated() {
            if let failure = source.failure {
                unreadable[source.name] = failure
                report.errors.append("inventory run \(runID): \(failure); the instances it does not settle say monitoring.monitored=unknown")
                continue
            }
            let started = MonotonicDeadline.now()
            let mark = try output.mark()
            var staged: [(String, MonitoringOutcome.Match)] = []
            var hosts = 0, unmatched = 0, ambiguous = 0, documents = 0
            // Output errors stop the transform; an answer that cannot be read makes its source unknown.
            var writeError: Error?
            func write(_ bytes: [UInt8]) throws {
                do { try output.write(bytes) } catch { writeError = error; throw error }
                documents += 1
            }
            do {
                try reader.forEachHost(of: source) { host in
                    hosts += 1
                    guard let found = matcher.match(host) else {
                        unmatched += 1
                        if settings.reportUnmatchedHosts {
                            try write(context.document(type: "monitoring.unmatched_host", source: source, host: host, candidates: [], matcher: matcher))
                        }
                        return
                    }
                    let match = MonitoringOutcome.Match(source: source.name, sourceType: source.type, sourceRank: rank, host: host, rule: found.rule,
                                                        ruleRank: ruleRank[found.rule] ?? 0, instanceCount: found.instances.count)
                    for n in found.instances { staged.append((matcher.instances[n].key, match)) }
                    if found.instances.count > 1 {
                        ambiguous += 1
                        try write(context.document(type: "monitoring.ambiguous_host", source: source, host: host,
                                                   candidates: found.instances, rule: found.rule, matcher: matcher))
                    }
                }
            } catch {
                if let writeError { throw writeError }
                // Nothing of a source that cannot be read whole counts.
                try output.rollback(to: mark)
                let reason = "monitoring source '\(source.name)' in run \(run.folder.lastPathComponent): \(StageRunner.describe(error))"
                unreadable[source.name] = reason
                report.errors.append("inventory run \(runID): \(reason); the instances it does not settle say monitoring.monitored=unknown")
                continue
            }
            for (key, match) in staged { matches[key, default: []].append(match) }
            report.add("documents", Int64(documents))
            report.add("monitoring_hosts", Int64(hosts))
            report.add("monitoring_unmatched_hosts", Int64(unmatched))
            report.add("monitoring_ambiguous_hosts", Int64(ambiguous))
            logger.info("monitoring hosts matched", metadata: [
                "source": "\(source.name)", "hosts": "\(hosts)", "matched": "\(hosts - unmatched)", "unmatched": "\(unmatched)",
                "ambiguous": "\(ambiguous)", "seconds": "\(String(format: "%.2f", MonotonicDeadline.now() - started))",
            ])
            try output.rotateIfFull()
        }
        return MonitoringOutcome(asOf: asOf, sources: reader.sources.map(\.name), unreadable: unreadable, matches: matches)
    }
}

/// Writes the document of a monitoring host that matched no instance, or several.
struct HostDocumentContext {
    let index: String
    let runID: String
    let collectedAt: String
    let asOf: String

    func document(type: String, source: MonitoringRunReader.Source, host: MonitoringHost, candidates: [Int], rule: MonitoringMatchRule? = nil,
                  matcher: MonitoringMatcher) -> [UInt8] {
        let id = "\(source.name):\(host.name)"
        var documentID = "\(type):\(id)"
        if documentID.utf8.count > 400 { documentID = "\(type):" + SHA256.hash(data: Data(id.utf8)).hexString }
        var monitoring: [(String, JSONValue)] = [("system", .string(source.name)), ("source_type", .string(source.type))]
        monitoring += MonitoringOutcome.hostFields(host)
        if let rule {
            monitoring.append(("matched_by", .string(rule.rawValue)))
            monitoring.append(("candidate_count", .int(Int64(candidates.count))))
            monitoring.append(("candidates", .array(candidates.prefix(MonitoringJoin.maxCandidates).map { n in
                let instance = matcher.instances[n]
                return .object([("account", .string(instance.account)), ("region", .string(instance.region)), ("instance_id", .string(instance.id))])
            })))
        }
        monitoring.append(("as_of", .string(asOf)))
        var out: [UInt8] = []
        JSONValue.object([("index", .object([("_index", .string(index)), ("_id", .string(documentID))]))]).write(to: &out)
        out.append(10)
        JSONValue.object([
            ("@timestamp", .string(collectedAt)),
            ("resource", .object([("type", .string(type)), ("id", .string(id))])),
            ("cloudspool", .object([("collector", .string("inventory")), ("run_id", .string(runID)), ("last_seen", .string(collectedAt))])),
            ("monitoring", .object(monitoring)),
        ]).write(to: &out)
        out.append(10)
        return out
    }
}
