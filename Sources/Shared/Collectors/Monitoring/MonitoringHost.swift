import Foundation

/// One host of a monitoring system: what the matching rules and the
/// documents need of it, read from a livestatus row, an OP5 API object or a
/// line of a host list.
public struct MonitoringHost: Sendable, Equatable {
    public var name: String
    public var alias: String?
    public var displayName: String?
    public var address: String?
    /// 0 UP, 1 DOWN, 2 UNREACHABLE; nil when the source has no states (a host list).
    public var state: Int?
    public var hasBeenChecked: Bool?
    /// Epoch seconds of the last check; 0 or -1 (icinga2) when never checked.
    public var lastCheck: Int64?
    /// The values of the custom variables that hold an instance id.
    public var instanceIDs: [String] = []
    public var groups: [String] = []

    public init(name: String, alias: String? = nil, displayName: String? = nil, address: String? = nil, state: Int? = nil,
                hasBeenChecked: Bool? = nil, lastCheck: Int64? = nil, instanceIDs: [String] = [], groups: [String] = []) {
        self.name = name
        self.alias = alias
        self.displayName = displayName
        self.address = address
        self.state = state
        self.hasBeenChecked = hasBeenChecked
        self.lastCheck = lastCheck
        self.instanceIDs = instanceIDs
        self.groups = groups
    }

    /// The livestatus `hosts` columns asked for, in row order. Only columns
    /// every livestatus has (icinga2, naemon, nagios + MK livestatus, Checkmk):
    /// an unknown column fails the whole query.
    public static let livestatusColumns = ["name", "alias", "display_name", "address", "state", "has_been_checked", "last_check",
                                           "custom_variables", "groups"]
    /// The OP5 API columns asked for.
    public static let op5Columns = livestatusColumns

    /// `UP`, `DOWN`, `UNREACHABLE`, or `PENDING` for a host never checked
    /// (icinga2 reports those as DOWN with last_check -1: never read `state` alone).
    public var stateName: String? {
        guard let state else { return nil }
        if hasBeenChecked == false || (hasBeenChecked == nil && (lastCheck ?? 1) <= 0) { return "PENDING" }
        switch state {
        case 0: return "UP"
        case 1: return "DOWN"
        case 2: return "UNREACHABLE"
        default: return "STATE \(state)"
        }
    }

    /// The last check as a date, nil when never checked.
    public var lastCheckDate: Date? {
        guard let lastCheck, lastCheck > 0, hasBeenChecked != false else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(lastCheck))
    }

    /// A custom variable's name as compared: one leading `_` dropped (Nagios
    /// defines `_EC2_INSTANCE_ID`), case ignored (Naemon upper-cases names, icinga2 keeps them).
    public static func normalisedVariableName(_ name: String) -> String {
        (name.hasPrefix("_") ? String(name.dropFirst()) : name).lowercased()
    }

    // MARK: reading

    /// A row of a livestatus JSON answer to a query of `columns` (by default the collector's own).
    public static func livestatusRow(_ row: JSONValue, idVariables: Set<String>, columns: [String] = livestatusColumns) throws -> MonitoringHost {
        guard case .array(let values) = row, values.count == columns.count else {
            throw CloudspoolError(.format, "a livestatus row is not an array of the \(columns.count) columns asked for: \(row.jsonText.prefix(200))")
        }
        return try host(values: Dictionary(zip(columns, values), uniquingKeysWith: { a, _ in a }), idVariables: idVariables)
    }

    /// An object of an OP5 API `/api/filter/query` page.
    public static func op5Row(_ row: JSONValue, idVariables: Set<String>) throws -> MonitoringHost {
        guard case .object(let members) = row else {
            throw CloudspoolError(.format, "an OP5 API row is not an object: \(row.jsonText.prefix(200))")
        }
        return try host(values: Dictionary(members, uniquingKeysWith: { a, _ in a }), idVariables: idVariables)
    }

    /// A line of a host list: a host name or address; blank lines and `#` comments are no host.
    public static func listLine(_ line: Substring) -> MonitoringHost? {
        var text = line
        if let hash = text.firstIndex(of: "#") { text = text[..<hash] }
        let entry = text.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
        guard !entry.isEmpty else { return nil }
        return MonitoringHost(name: entry, address: entry)
    }

    private static func host(values: [String: JSONValue], idVariables: Set<String>) throws -> MonitoringHost {
        guard let name = values["name"]?.stringValue, !name.isEmpty else {
            throw CloudspoolError(.format, "a host without a name: \(JSONValue.object(values.sorted { $0.key < $1.key }).jsonText.prefix(200))")
        }
        func text(_ key: String) -> String? {
            guard let s = values[key]?.stringValue, !s.isEmpty else { return nil }
            return s
        }
        var host = MonitoringHost(name: name, alias: text("alias"), displayName: text("display_name"), address: text("address"))
        host.state = values["state"]?.intValue.map { Int($0) }
        switch values["has_been_checked"] {
        case .bool(let b)?: host.hasBeenChecked = b
        case let v?: host.hasBeenChecked = v.intValue.map { $0 != 0 }
        case nil: break
        }
        host.lastCheck = values["last_check"]?.intValue
        host.groups = (values["groups"]?.arrayValue ?? []).compactMap(\.stringValue)
        // Icinga 2: [[name, value], ...]; Naemon, OP5, Checkmk: {NAME: value}.
        var pairs: [(String, JSONValue)] = []
        switch values["custom_variables"] {
        case .object(let members)?: pairs = members
        case .array(let items)?:
            for item in items {
                let pair = item.arrayValue
                if pair.count == 2, let key = pair[0].stringValue { pairs.append((key, pair[1])) }
            }
        default: break
        }
        for (key, value) in pairs where idVariables.contains(normalisedVariableName(key)) {
            if let id = variableText(value), !id.isEmpty { host.instanceIDs.append(id) }
        }
        return host
    }

    /// A custom variable's value as text: strings as they are, numbers in decimal.
    static func variableText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let s): return s.trimmingCharacters(in: .whitespaces)
        case .int(let n): return String(n)
        case .double(let d): return d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        default: return nil
        }
    }
}
