import Foundation

/// What the monitoring systems say about the EC2 instances of one inventory
/// run: for each instance the hosts that matched it, and which sources
/// could not be read. Gives each instance document, and each summary, its
/// `monitoring` object.
///
/// `monitoring.monitored` is the keyword `"true"` (a host of a source read
/// whole matched it), `"false"` (every source was read whole and none
/// matched it) or `"unknown"` (it matched nothing, and some source could not
/// be read: that source might have it). Never `false` because a source was down.
public struct MonitoringOutcome: Sendable {
    public enum Monitored: String, Sendable {
        case yes = "true", no = "false", unknown
    }

    /// A host that matched an instance, and how.
    public struct Match: Sendable {
        let source: String
        let sourceType: String
        /// The source's place in the run (ties between equal rules go to the earlier source).
        let sourceRank: Int
        let host: MonitoringHost
        let rule: MonitoringMatchRule
        /// The rule's place in the configured order.
        let ruleRank: Int
        /// How many instances this host matched (more than one: ambiguous).
        let instanceCount: Int
    }

    /// Counts of one account and region, for its summary document.
    public struct Counts: Sendable, Equatable {
        public var monitored = 0, notMonitored = 0, unknown = 0

        mutating func add(_ monitored: Monitored) {
            switch monitored {
            case .yes: self.monitored += 1
            case .no: notMonitored += 1
            case .unknown: unknown += 1
            }
        }
    }

    /// When the monitoring systems were read (the monitoring run's time), nil when no run could be used.
    public let asOf: String?
    /// The sources, read or not, in the run's order.
    public let sources: [String]
    /// Sources that could not be read, with the reason.
    public let unreadable: [String: String]
    /// Instance key (`<account>/<region>/<id>`) -> the hosts that matched it.
    var matches: [String: [Match]]

    init(asOf: String?, sources: [String], unreadable: [String: String], matches: [String: [Match]]) {
        self.asOf = asOf
        self.sources = sources
        self.unreadable = unreadable
        self.matches = matches
    }

    /// Every instance unknown, for `reason`.
    static func unknown(sources: [String], reason: String, asOf: String? = nil) -> MonitoringOutcome {
        MonitoringOutcome(asOf: asOf, sources: sources, unreadable: Dictionary(sources.map { ($0, reason) }, uniquingKeysWith: { a, _ in a }), matches: [:])
    }

    private var system: JSONValue {
        sources.count == 1 ? .string(sources[0]) : .array(sources.map { .string($0) })
    }

    /// The verdict on one instance, and its `monitoring` object.
    public func instance(_ key: String) -> (Monitored, JSONValue) {
        let found = matches[key] ?? []
        var fields: [(String, JSONValue)]
        let verdict: Monitored
        if let best = found.min(by: { ($0.ruleRank, $0.sourceRank, $0.host.name) < ($1.ruleRank, $1.sourceRank, $1.host.name) }) {
            verdict = .yes
            fields = [("monitored", .string(verdict.rawValue)), ("system", .string(best.source)), ("source_type", .string(best.sourceType))]
            fields += Self.hostFields(best.host)
            fields.append(("matched_by", .string(best.rule.rawValue)))
            fields.append(("host_count", .int(Int64(found.count))))
            fields.append(("ambiguous", .bool(best.instanceCount > 1)))
        } else if unreadable.isEmpty {
            verdict = .no
            fields = [("monitored", .string(verdict.rawValue)), ("system", system), ("host_count", .int(0))]
        } else {
            verdict = .unknown
            fields = [("monitored", .string(verdict.rawValue)), ("system", system), ("reason", .string(reason))]
        }
        if let asOf { fields.append(("as_of", .string(asOf))) }
        return (verdict, .object(fields))
    }

    /// The `monitoring` object of a summary: `"unknown"` when some instance is
    /// unknown, `"false"` when some instance is not monitored, else `"true"`, and the counts.
    public func summary(_ counts: Counts) -> JSONValue {
        let verdict: Monitored = counts.unknown > 0 ? .unknown : counts.notMonitored > 0 ? .no : .yes
        var fields: [(String, JSONValue)] = [
            ("monitored", .string(verdict.rawValue)), ("system", system),
            ("counts", .object([("monitored", .int(Int64(counts.monitored))), ("not_monitored", .int(Int64(counts.notMonitored))),
                                ("unknown", .int(Int64(counts.unknown)))])),
        ]
        if !unreadable.isEmpty { fields.append(("reason", .string(reason))) }
        if let asOf { fields.append(("as_of", .string(asOf))) }
        return .object(fields)
    }

    /// Why some answers are unknown, one line.
    var reason: String {
        unreadable.keys.sorted().map { "\($0): \(unreadable[$0]!)" }.joined(separator: "; ")
    }

    /// What a document says of a monitoring host.
    static func hostFields(_ host: MonitoringHost) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [("host_name", .string(host.name))]
        if let alias = host.alias ?? host.displayName { fields.append(("host_alias", .string(alias))) }
        if let address = host.address { fields.append(("address", .string(address))) }
        if let state = host.stateName { fields.append(("state", .string(state))) }
        if let date = host.lastCheckDate { fields.append(("last_check", .string(UTCDate.iso8601(date)))) }
        if !host.groups.isEmpty { fields.append(("groups", .array(host.groups.map { .string($0) }))) }
        return fields
    }
}
