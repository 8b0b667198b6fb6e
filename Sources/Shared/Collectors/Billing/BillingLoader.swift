import Foundation
import Logging

/// The billing side of load: indexes each report revision into its own
/// index, checks that the index holds every line item, then moves the
/// period's alias (`awsbilling-2026.11`) from the previous revision to the
/// new one in one `_aliases` request and deletes the previous revision's
/// index. A reader of the alias sees the old revision or the new one, never
/// both and never neither.
///
/// The swap uses `remove` + `add` in one request followed by a `DELETE` of
/// the old index, which every supported Elasticsearch and OpenSearch version
/// accepts (`remove_index` would do both at once, but osmem, the test
/// server, rejects it).
public final class BillingLoader {
    public static let collector = BillingFetcher.collector

    /// `state/load-billing.json`: revisions whose alias swap is done.
    public struct State: Codable, Sendable {
        public var switched: [String] = []
        public init() {}
    }

    let bulk: BulkLoader
    let client: IndexClient
    let layout: SpoolLayout
    let naming: IndexNaming
    let logger: Logger
    let store: CheckpointStore<State>
    let allowEmptyRevision: Bool
    let maxDropPercent: Int

    public init(context: StageContext, index: IndexLoadContext) {
        self.bulk = index.bulk
        self.client = index.client
        self.layout = context.layout
        self.naming = context.naming
        self.logger = context.logger
        self.store = CheckpointStore(layout: context.layout, name: "load-billing")
        self.allowEmptyRevision = context.config.billing?.allowEmptyRevision ?? BillingSettings.loadDefaults.allowEmptyRevision
        self.maxDropPercent = context.config.billing?.maxDropPercent ?? BillingSettings.loadDefaults.maxDropPercent
    }

    /// Revisions not switched yet, oldest first.
    func pendingRevisions() throws -> [BillingRevision] {
        let switched = Set(try store.load()?.switched ?? [])
        let folder = layout.ndjson(Self.collector)
        return try SpoolFiles.list(folder).filter { $0.hasSuffix(BillingRevision.suffix) }.compactMap { name in
            let revision = try JSONDecoder().decode(BillingRevision.self, from: Data(contentsOf: folder.appendingPathComponent(name)))
            return switched.contains(revision.runId) ? nil : revision
        }
    }

    public func run(report: inout RunReport) throws {
        let pending = try pendingRevisions()
        guard !pending.isEmpty else { return }
        try bulk.installTemplate(Collector.billingTemplate(naming))
        // Of several pending revisions of one period only the newest is loaded.
        let newest = Dictionary(grouping: pending, by: \.period).mapValues { $0.max { $0.runId < $1.runId }!.runId }
        for revision in pending {
            if newest[revision.period] != revision.runId {
                logger.info("revision superseded before it was loaded", metadata: ["period": "\(revision.period)", "revision": "\(revision.revision)"])
                try markSwitched(revision)
                continue
            }
            try load(revision, report: &report)
        }
    }

    func load(_ revision: BillingRevision, report: inout RunReport) throws {
        try createIndex(revision)
        let deadBefore = report.count("deadlettered")
        let folder = layout.ndjson(Self.collector)
        let offsets = try bulk.store.load() ?? BulkLoader.State()
        for name in revision.files {
            let url = folder.appendingPathComponent(name)
            let done = offsets.files["\(Self.collector)/\(name)"] ?? 0
            if done < SpoolFiles.size(url) {
                try bulk.load(file: url, collector: Self.collector, from: done, checkpoint: true, report: &report)
            }
        }
        if report.count("deadlettered") > deadBefore {
            report.errors.append("billing period \(revision.period): the index rejected some line items (see deadletter/billing/); revision \(revision.revision) is not switched in, the previous revision stays in \(revision.alias)")
            return
        }
        try expect(client.send(method: "POST", path: "/\(revision.physicalIndex)/_refresh"), "refreshing \(revision.physicalIndex)")
        let count = try documentCount(revision.physicalIndex)
        guard count == revision.documents else {
            report.errors.append("billing period \(revision.period): index \(revision.physicalIndex) holds \(count) documents, the report has \(revision.documents); not switched in, the previous revision stays in \(revision.alias); the next run tries again")
            return
        }
        if let refusal = try dropRefusal(revision, count: count) {
            report.errors.append(refusal)
            logger.error("billing revision not switched in", metadata: ["alias": "\(revision.alias)", "index": "\(revision.physicalIndex)"])
            return
        }
        try swapAlias(revision)
        try markSwitched(revision)
        report.add("revisions_switched")
        logger.info("billing revision switched in", metadata: ["alias": "\(revision.alias)", "index": "\(revision.physicalIndex)", "documents": "\(count)"])
    }

    /// Why `revision` must not replace the revision in place, if it must not: it is empty (and the one in
    /// place is not), or it has more than `maxDropPercent` fewer line items or less cost.
    func dropRefusal(_ revision: BillingRevision, count: Int64) throws -> String? {
        let current = try client.send(method: "GET", path: "/_alias/\(revision.alias)")
        guard current.status == 200, let json = try JSONSerialization.jsonObject(with: current.body) as? [String: Any],
              let previous = json.keys.sorted().first(where: { $0 != revision.physicalIndex }) else { return nil }
        let previousCount = try documentCount(previous)
        guard previousCount > 0 else { return nil }
        let keep = "not switched in: the previous revision stays in \(revision.alias)"
        if count == 0 {
            guard !allowEmptyRevision else { return nil }
            return "billing period \(revision.period): revision \(revision.revision) has no line items, the revision in place has \(previousCount); \(keep). "
                + "If the month really is empty, set billing.allow_empty_revision: true and run load again"
        }
        guard maxDropPercent < 100 else { return nil }
        let (previousCost, newCost) = (try cost(previous), try cost(revision.physicalIndex))
        let rowDrop = Double(previousCount - count) / Double(previousCount) * 100
        let costDrop = previousCost > 0 ? (previousCost - newCost) / previousCost * 100 : 0
        guard rowDrop > Double(maxDropPercent) || costDrop > Double(maxDropPercent) else { return nil }
        return "billing period \(revision.period): revision \(revision.revision) has \(count) line items costing \(String(format: "%.2f", newCost)), "
            + "the revision in place \(previousCount) costing \(String(format: "%.2f", previousCost)) "
            + "(\(String(format: "%.0f", max(rowDrop, costDrop)))% less, more than billing.max_drop_percent \(maxDropPercent)); \(keep). "
            + "If the new figures are right, raise billing.max_drop_percent (100 turns the check off) and run load again"
    }

    /// The unblended cost summed over a revision index (legacy CUR and CUR 2.0 column names).
    func cost(_ index: String) throws -> Double {
        let query = #"{"size":0,"aggs":{"legacy":{"sum":{"field":"lineItem.UnblendedCost"}},"v2":{"sum":{"field":"line_item_unblended_cost"}}}}"#
        let response = try client.send(method: "POST", path: "/\(index)/_search", body: Data(query.utf8))
        try expect(response, "summing the cost of \(index)")
        let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        let aggs = json?["aggregations"] as? [String: Any]
        return ["legacy", "v2"].reduce(0.0) { $0 + (((aggs?[$1] as? [String: Any])?["value"] as? NSNumber)?.doubleValue ?? 0) }
    }

    func createIndex(_ revision: BillingRevision) throws {
        let body = Data("{\"mappings\":\(revision.mappingsJSON)}".utf8)
        let response = try client.send(method: "PUT", path: "/\(revision.physicalIndex)", body: body)
        if (200..<300).contains(response.status) { return }
        if response.status == 400, String(decoding: response.body, as: UTF8.self).contains("resource_already_exists_exception") { return }
        throw CloudspoolError(.index, "cannot create index \(revision.physicalIndex): HTTP \(response.status) \(IndexClient.describe(response))\(IndexClient.advice(response.status))")
    }

    func documentCount(_ index: String) throws -> Int64 {
        let response = try client.send(method: "GET", path: "/\(index)/_count")
        try expect(response, "counting \(index)")
        let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        return (json?["count"] as? NSNumber)?.int64Value ?? -1
    }

    func swapAlias(_ revision: BillingRevision) throws {
        let alias = revision.alias
        let current = try client.send(method: "GET", path: "/_alias/\(alias)")
        var holders: [String] = []
        if current.status == 200, let json = try JSONSerialization.jsonObject(with: current.body) as? [String: Any] {
            holders = json.keys.sorted()
        } else if current.status == 404 {
            let concrete = try client.send(method: "HEAD", path: "/\(alias)")
            if concrete.status == 200 {
                throw CloudspoolError(.index, "\(alias) exists as an index, not an alias (written by an older integration?); cloudspool serves each billing period through an alias of that name: reindex or delete the index \(alias), then run load again")
            }
        } else {
            try expect(current, "reading alias \(alias)")
        }
        var actions: [[String: Any]] = holders.filter { $0 != revision.physicalIndex }.map { ["remove": ["index": $0, "alias": alias]] }
        actions.append(["add": ["index": revision.physicalIndex, "alias": alias]])
        let body = try JSONSerialization.data(withJSONObject: ["actions": actions], options: [.sortedKeys])
        try expect(client.send(method: "POST", path: "/_aliases", body: body), "moving alias \(alias)")
        // Drop every other revision index of the period (the previous one, and any left by an interrupted run).
        let listing = try client.send(method: "GET", path: "/_cat/indices/\(naming.billingRevisionStem)-\(revision.period)-*?format=json&h=index")
        try expect(listing, "listing revision indices")
        let indices = (try JSONSerialization.jsonObject(with: listing.body) as? [[String: Any]] ?? []).compactMap { $0["index"] as? String }
        for old in indices where old != revision.physicalIndex {
            let response = try client.send(method: "DELETE", path: "/\(old)")
            if response.status != 404 { try expect(response, "deleting superseded index \(old)") }
            logger.info("superseded billing revision deleted", metadata: ["index": "\(old)"])
        }
    }

    func markSwitched(_ revision: BillingRevision) throws {
        var state = try store.load() ?? State()
        state.switched.append(revision.runId)
        try store.save(state)
    }

    func expect(_ response: HTTPResponse, _ what: String) throws {
        guard (200..<300).contains(response.status) else {
            throw CloudspoolError(.index, "the index failed \(what): HTTP \(response.status) \(IndexClient.describe(response))\(IndexClient.advice(response.status))")
        }
    }
}
