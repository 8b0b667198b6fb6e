/// Turns a resource as AWS describes it into leaf paths and values, the form
/// the change feed compares: `InstanceType`, `State.Name`, `Tags[Name]`,
/// `SecurityGroups[sg-0abc].GroupName`.
///
/// Lists are keyed, not numbered, wherever their items say who they are, so
/// that a list AWS returns in another order is no change: tags by `Key`,
/// items with a unique `...Id` member by it, items by `DeviceName` or `Name`.
/// A list of plain values is one leaf (sorted). Empty lists and objects give no leaf.
enum ResourceFlattener {
    /// The leaves of `value`: path -> value as text (a string as it is, anything else as JSON).
    static func leaves(of value: JSONValue, ignoring ignored: Set<String> = []) -> [String: String] {
        var out: [String: String] = [:]
        walk(value, path: "", ignored: ignored, into: &out)
        return out
    }

    private static func walk(_ value: JSONValue, path: String, ignored: Set<String>, into out: inout [String: String]) {
        if !path.isEmpty, ignored.contains(path) { return }
        switch value {
        case .object(let members):
            for (key, member) in members {
                walk(member, path: path.isEmpty ? key : "\(path).\(key)", ignored: ignored, into: &out)
            }
        case .array(let items):
            guard !items.isEmpty else { return }
            if let keyed = keyedItems(items) {
                for (key, item) in keyed {
                    walk(item, path: "\(path)[\(key)]", ignored: ignored, into: &out)
                }
            } else if items.allSatisfy(\.isScalar) {
                out[path] = JSONValue.array(items.sorted { $0.jsonText < $1.jsonText }).jsonText
            } else {
                for (n, item) in items.enumerated() {
                    walk(item, path: "\(path)[\(n)]", ignored: ignored, into: &out)
                }
            }
        case .string(let s):
            out[path] = s
        default:
            out[path] = value.jsonText
        }
    }

    /// Items keyed by what names them, or nil when they do not name themselves uniquely.
    /// A tag item (`Key`/`Value`) becomes its value under its key.
    private static func keyedItems(_ items: [JSONValue]) -> [(String, JSONValue)]? {
        guard case .object(let first) = items[0] else { return nil }
        if first.count <= 2, first.contains(where: { $0.0 == "Key" }) {
            var keyed: [(String, JSONValue)] = []
            var seen = Set<String>()
            for item in items {
                guard let key = item["Key"]?.stringValue, seen.insert(key).inserted else { return nil }
                keyed.append((key, item["Value"] ?? .null))
            }
            return keyed
        }
        let candidates = first.map(\.0).filter { $0.hasSuffix("Id") } + ["DeviceName", "Name"]
        for candidate in candidates {
            var keyed: [(String, JSONValue)] = []
            var seen = Set<String>()
            for item in items {
                guard let key = item[candidate]?.stringValue, seen.insert(key).inserted else { keyed = []; break }
                keyed.append((key, item))
            }
            if keyed.count == items.count { return keyed }
        }
        return nil
    }
}

extension JSONValue {
    /// Whether this is a string, number, boolean or null.
    var isScalar: Bool {
        switch self {
        case .object, .array: return false
        default: return true
        }
    }
}
