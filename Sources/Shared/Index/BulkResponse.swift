import Foundation

/// What the index said about each document of a `_bulk` request.
///
/// A `_bulk` answer of HTTP 200 can still hold failures (`"errors": true`):
/// every item has its own status. 2xx is indexed, 429 and 5xx are worth
/// sending again, any other status is a rejection for good.
public struct BulkResponse: Sendable {
    /// The outcome of one item.
    public struct Item: Sendable, Equatable {
        public let status: Int
        /// `type: reason` of the item's error, when it failed.
        public let error: String?
        /// A delete of a document that was not there (404 `not_found`): what a delete wants.
        public var alreadyGone = false

        public init(status: Int, error: String?, alreadyGone: Bool = false) {
            self.status = status
            self.error = error
            self.alreadyGone = alreadyGone
        }

        public var isSuccess: Bool { (200..<300).contains(status) || alreadyGone }
        public var isRetryable: Bool { status == 429 || status >= 500 }
    }

    public let items: [Item]

    public init(items: [Item]) {
        self.items = items
    }

    /// Whether the answer says no item failed (`"errors":false`, which Elasticsearch
    /// and OpenSearch write before the items): then the items need not be read.
    public static func reportsNoErrors(_ body: Data) -> Bool {
        let head = body.prefix(256)
        guard let range = head.range(of: Data("\"errors\"".utf8)) else { return false }
        var i = range.upperBound
        while i < head.endIndex, head[i] == 32 || head[i] == 58 || head[i] == 10 || head[i] == 13 || head[i] == 9 { i += 1 }
        return head[i...].starts(with: Data("false".utf8))
    }

    /// The number of entries of the answer's `items` array, counted without
    /// decoding them; nil when the answer has no `items` array or is cut short.
    public static func itemCount(_ body: Data) -> Int? {
        body.withUnsafeBytes { raw -> Int? in
            guard let members = try? JSONObjectScanner.members(of: raw),
                  let items = members.first(where: { raw[$0.key].elementsEqual("items".utf8) }), items.kind == .array else { return nil }
            // The answer was validated above: strings are skipped to their closing quote (word by word), and
            // the commas between the array's own items are counted.
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var i = items.value.lowerBound
            let end = items.value.upperBound
            var depth = 0, count = 0, sawValue = false
            while i < end {
                let byte = p[i]
                switch byte {
                case 34:
                    if depth == 1 { sawValue = true }
                    i += 1
                    while true {
                        i = ByteScan.quoteOrBackslash(p, from: i, end: end)
                        guard i < end else { break }
                        if p[i] == 92 { i += 2; continue }
                        break
                    }
                case 91, 123: depth += 1; if depth == 2 { sawValue = true }
                case 93, 125: depth -= 1
                case 44 where depth == 1: count += 1
                case 32, 9, 10, 13: break
                default: if depth == 1 { sawValue = true }
                }
                i += 1
            }
            return sawValue ? count + 1 : 0
        }
    }

    /// Parses a `_bulk` answer; throws when it is not one.
    public static func parse(_ body: Data) throws -> BulkResponse {
        guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let items = json["items"] as? [[String: Any]] else {
            throw CloudspoolError(.index, "the index answered _bulk with something that is not a bulk response: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        return BulkResponse(items: items.map { item in
            let result = (item["index"] ?? item["create"] ?? item["update"] ?? item["delete"] ?? item.values.first) as? [String: Any] ?? [:]
            let status = (result["status"] as? Int) ?? (result["status"] as? NSNumber)?.intValue ?? 0
            var error: String?
            if let e = result["error"] as? [String: Any] {
                var text = "\(e["type"] as? String ?? "error"): \(e["reason"] as? String ?? "")"
                if let cause = e["caused_by"] as? [String: Any] {
                    text += " (caused by \(cause["type"] as? String ?? ""): \(cause["reason"] as? String ?? ""))"
                }
                error = text
            } else if let e = result["error"] as? String {
                error = e
            }
            let alreadyGone = item["delete"] != nil && status == 404 && error == nil
            return Item(status: status, error: error, alreadyGone: alreadyGone)
        })
    }
}
