/// How each column of a Cost & Usage Report becomes part of a document: its
/// place in the nested JSON (`lineItem/UnblendedCost` -> `lineItem.UnblendedCost`)
/// and its value type from the manifest.
public struct CURColumnPlan: Sendable {
    /// The JSON type a column's values take.
    public enum Kind: Sendable, Equatable {
        case number, date, string, map
    }

    /// One column: where it goes and what it holds.
    public struct Column: Sendable, Equatable {
        public let header: String
        /// Object name for `category/name` columns, nil for top-level ones.
        public let group: String?
        public let field: String
        public let kind: Kind
    }

    /// Columns in CSV order; nil marks a duplicate header, which is skipped.
    public let columns: [Column?]
    /// Output order: groups in order of first appearance, each with its column indices.
    let layout: [(group: String?, members: [Int])]
    /// Columns holding the usage start (for `@timestamp`) and the usage account.
    public let usageStart: Int?
    public let usageAccount: Int?

    public init(header: [String], manifest: CURManifest) {
        var types: [String: String] = [:]
        for column in manifest.columns { types[column.name] = column.type }
        var seen = Set<String>()
        var columns: [Column?] = []
        for name in header {
            guard seen.insert(name).inserted else { columns.append(nil); continue }
            var group: String?
            var field = name
            if manifest.format == .legacy, let slash = name.firstIndex(of: "/") {
                group = String(name[..<slash])
                field = String(name[name.index(after: slash)...])
            }
            columns.append(Column(header: name, group: group, field: field, kind: Self.kind(of: types[name] ?? "string")))
        }
        var layout: [(group: String?, members: [Int])] = []
        var groupIndex: [String: Int] = [:]
        for (i, column) in columns.enumerated() {
            guard let column else { continue }
            if let group = column.group {
                if let g = groupIndex[group] {
                    layout[g].members.append(i)
                } else {
                    groupIndex[group] = layout.count
                    layout.append((group, [i]))
                }
            } else {
                layout.append((nil, [i]))
            }
        }
        self.columns = columns
        self.layout = layout
        usageStart = header.firstIndex { $0 == "lineItem/UsageStartDate" || $0 == "line_item_usage_start_date" }
        usageAccount = header.firstIndex { $0 == "lineItem/UsageAccountId" || $0 == "line_item_usage_account_id" }
    }

    static func kind(of type: String) -> Kind {
        switch type {
        case "bigdecimal", "optionalbigdecimal", "double", "decimal", "float", "integer", "int", "bigint", "long": return .number
        case "datetime", "timestamp", "date": return .date
        default: return type.hasPrefix("map") ? .map : type.hasPrefix("decimal") ? .number : .string
        }
    }

    /// The index mappings of a revision: every column typed as the manifest says.
    public var mappings: [String: Any] {
        var properties: [String: Any] = [:]
        func mapping(_ kind: Kind) -> [String: Any] {
            switch kind {
            case .number: return ["type": "double"]
            case .date: return ["type": "date", "ignore_malformed": true]
            case .string: return ["type": "keyword", "ignore_above": 1024]
            case .map: return ["type": "object"]
            }
        }
        for column in columns.compactMap({ $0 }) {
            if let group = column.group {
                var inner = (properties[group] as? [String: Any])?["properties"] as? [String: Any] ?? [:]
                inner[column.field] = mapping(column.kind)
                properties[group] = ["properties": inner]
            } else {
                properties[column.field] = mapping(column.kind)
            }
        }
        return ["properties": properties]
    }
}
