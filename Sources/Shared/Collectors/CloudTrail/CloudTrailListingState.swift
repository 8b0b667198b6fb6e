import Foundation

/// How far fetch has listed each account/region prefix of the trail bucket
/// (`state/fetch-cloudtrail.json`).
///
/// Per prefix it keeps the greatest key fetched and the keys fetched within
/// the overlap window before it, nothing more: the state stays small however
/// many objects the bucket holds, and a file that arrives late with a key
/// sorting before the greatest one is still found on the next listing.
public struct CloudTrailListingState: Codable, Sendable, Equatable {
    /// The checkpoint of one `…/CloudTrail/<region>/` prefix.
    public struct Prefix: Codable, Sendable, Equatable {
        /// The greatest key fetched.
        public var lastKey: String
        /// Keys fetched whose delivery time is within the overlap window before `lastKey`'s.
        public var recent: [String]
        /// Keys fetched whose file name claims a delivery time later than the
        /// fetch's clock allowed (a forged or mis-named object): remembered so
        /// they are fetched once, never allowed to move `lastKey`, which would
        /// make every real file delivered before that time look old.
        public var future: [String]?
    }

    /// How far past the fetch's own clock a key's delivery time may be and still move the checkpoint.
    public static let futureTolerance: TimeInterval = 3600

    public var prefixes: [String: Prefix] = [:]

    public init() {}

    /// Where a listing of `prefix` starts (`start-after`).
    public func startAfter(prefix: String, overlap: TimeInterval, firstDay: Date) -> String {
        guard let state = prefixes[prefix] else {
            return prefix + UTCDate.slashedDay(firstDay)
        }
        let last = CloudTrailKey(anyKey: state.lastKey)?.deliveredAt ?? firstDay
        let windowStart = last.addingTimeInterval(-overlap)
        let start = prefix + UTCDate.slashedDay(windowStart)
        // Never list from before the first day either.
        return max(start, prefix + UTCDate.slashedDay(firstDay))
    }

    /// Whether a key found by the listing is new work.
    public func isNew(prefix: String, key: CloudTrailKey, overlap: TimeInterval) -> Bool {
        guard let state = prefixes[prefix] else { return true }
        if state.future?.contains(key.key) == true { return false }
        if key.key > state.lastKey { return true }
        if state.recent.contains(key.key) { return false }
        // Older than the window: fetched in an earlier run (and forgotten since) or too late to tell.
        let last = CloudTrailKey(anyKey: state.lastKey)?.deliveredAt ?? key.deliveredAt
        return key.deliveredAt >= last.addingTimeInterval(-overlap)
    }

    /// Records that `keys` of `prefix` were fetched and committed. Keys whose
    /// delivery time is more than `futureTolerance` after `now` are kept
    /// apart (see `Prefix.future`) and returned, for a warning.
    @discardableResult
    public mutating func record(prefix: String, keys: [CloudTrailKey], overlap: TimeInterval, now: Date = .distantFuture) -> [CloudTrailKey] {
        guard !keys.isEmpty else { return [] }
        var state = prefixes[prefix] ?? Prefix(lastKey: "", recent: [])
        var all = Set(state.recent)
        let limit = now == .distantFuture ? now : now.addingTimeInterval(Self.futureTolerance)
        let future = keys.filter { $0.deliveredAt > limit }
        if !future.isEmpty {
            // Forget future keys once their time has come and gone past the overlap window.
            let kept = (state.future ?? []).filter { (CloudTrailKey(key: $0)?.deliveredAt ?? .distantFuture) > now.addingTimeInterval(-overlap) }
            state.future = Array(Set(kept + future.map(\.key))).sorted()
        }
        for key in keys where key.deliveredAt <= limit {
            all.insert(key.key)
            if key.key > state.lastKey { state.lastKey = key.key }
        }
        let last = CloudTrailKey(anyKey: state.lastKey)?.deliveredAt ?? Date.distantPast
        let windowStart = last.addingTimeInterval(-overlap)
        state.recent = all.filter { (CloudTrailKey(anyKey: $0)?.deliveredAt ?? last) >= windowStart }.sorted()
        prefixes[prefix] = state
        return future
    }
}
