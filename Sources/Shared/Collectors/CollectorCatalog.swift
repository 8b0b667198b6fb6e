import Foundation

/// The registry described for people and programs: `cloudspool-fetch
/// --list-collectors [--json]` and the collector lines of `--help`.
public enum CollectorCatalog {
    /// One indented line per collector, for the help text.
    public static var helpLines: String {
        Collectors.all.map { "  " + $0.name.padding(toLength: 11, withPad: " ", startingAt: 0) + " " + $0.summary }.joined(separator: "\n")
    }

    /// A table: name, config section, stages, IAM actions.
    public static func table() -> String {
        var lines = ["collector   section     fetch transform load    IAM actions"]
        for c in Collectors.all {
            let load: String
            switch c.load {
            case .bulk: load = "bulk"
            case .custom: load = "custom"
            case .none: load = "-"
            }
            lines.append([c.name.padding(toLength: 11, withPad: " ", startingAt: 0),
                          (c.config?.key ?? "-").padding(toLength: 11, withPad: " ", startingAt: 0),
                          (c.fetch == nil ? "-" : "yes").padding(toLength: 5, withPad: " ", startingAt: 0),
                          "yes      ", load.padding(toLength: 7, withPad: " ", startingAt: 0),
                          c.awsActions.isEmpty ? "-" : c.awsActions.joined(separator: " ")].joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    /// JSON: for each collector its name, summary, section, sections it
    /// requires, whether it fetches, its load kind, its default template
    /// names and its IAM actions.
    public static func json() -> String {
        let naming = IndexNaming(prefix: "")
        let collectors: [JSONValue] = Collectors.all.map { c in
            let load: String
            switch c.load {
            case .bulk: load = "bulk"
            case .custom: load = "custom"
            case .none: load = "none"
            }
            return .object([
                ("name", .string(c.name)),
                ("summary", .string(c.summary)),
                ("config_section", c.config.map { .string($0.key) } ?? .null),
                ("requires", .array((c.config?.requires ?? []).map { .string($0.section) })),
                ("fetch", .bool(c.fetch != nil)),
                ("load", .string(load)),
                ("templates", .array(c.templates(naming).map { .string($0.name) })),
                ("retention", .object([("raw", .bool(c.retention.raw)), ("ndjson", .bool(c.retention.ndjson))])),
                ("aws_actions", .array(c.awsActions.map { .string($0) })),
            ])
        }
        var out: [UInt8] = []
        JSONValue.object([("collectors", .array(collectors))]).write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
