import Foundation

/// The output shapes of the AWS operations cloudspool calls, read from the
/// table `tools/gen_aws_shapes.py` generates from botocore's service models
/// (`AWSShapes+Generated.swift`; the format is documented in `tools/README.md`).
public struct AWSShapeModel: Sendable {
    /// One use of a shape: its type, and where it is on the wire.
    public struct Ref: Sendable {
        public let type: String
        public let shape: String?
        public let name: String?
        public let wire: String?
        public let flattened: Bool
    }

    public enum Shape: Sendable {
        case structure(members: [Ref], union: Bool)
        case list(member: Ref)
        case map(key: Ref, value: Ref)
    }

    public struct Operation: Sendable {
        public let output: String?
        public let resultWrapper: String?
        public let resultKeys: [String]
    }

    public struct Service: Sendable {
        public let name: String
        public let `protocol`: String
        public let operations: [String: Operation]
        public let shapes: [String: Shape]
    }

    public let botocoreVersion: String
    public let services: [String: Service]

    /// The table compiled into cloudspool.
    public static let bundled: AWSShapeModel = {
        do {
            return try AWSShapeModel(json: AWSShapesGenerated.json)
        } catch {
            fatalError("the generated AWS shape table does not parse: \(error); regenerate it with tools/gen_aws_shapes.py")
        }
    }()

    public init(json: String) throws {
        let root = try JSONValueParser.parse(Array(json.utf8))
        botocoreVersion = root["botocore"]?.stringValue ?? "?"
        var services: [String: Service] = [:]
        guard case .object(let entries)? = root["services"] else {
            throw CloudspoolError(.format, "the shape table has no services")
        }
        for (key, value) in entries {
            var operations: [String: Operation] = [:]
            if case .object(let ops)? = value["operations"] {
                for (name, op) in ops {
                    let keys = op["paginator"]?["resultKeys"]?.arrayValue.compactMap(\.stringValue) ?? []
                    operations[name] = Operation(output: op["output"]?.stringValue, resultWrapper: op["resultWrapper"]?.stringValue, resultKeys: keys)
                }
            }
            var shapes: [String: Shape] = [:]
            if case .object(let list)? = value["shapes"] {
                for (name, shape) in list {
                    switch shape["type"]?.stringValue {
                    case "structure":
                        shapes[name] = .structure(members: shape["members"]?.arrayValue.map(Self.ref) ?? [], union: shape["union"]?.boolValue ?? false)
                    case "list":
                        shapes[name] = .list(member: Self.ref(shape["member"] ?? .null))
                    case "map":
                        shapes[name] = .map(key: Self.ref(shape["key"] ?? .null), value: Self.ref(shape["value"] ?? .null))
                    default:
                        throw CloudspoolError(.format, "the shape table has a shape \(name) of unknown type")
                    }
                }
            }
            services[key] = Service(name: key, protocol: value["protocol"]?.stringValue ?? "", operations: operations, shapes: shapes)
        }
        self.services = services
    }

    static func ref(_ value: JSONValue) -> Ref {
        Ref(type: value["type"]?.stringValue ?? "string", shape: value["shape"]?.stringValue, name: value["name"]?.stringValue,
            wire: value["wire"]?.stringValue, flattened: value["flattened"]?.boolValue ?? false)
    }

    /// The paths (member names from the resource down) of every timestamp member below `shape`.
    public func timestampPaths(service: String, shape: String, prefix: [String] = [], depth: Int = 0) -> [[String]] {
        guard depth < 12, let s = services[service]?.shapes[shape] else { return [] }
        var result: [[String]] = []
        switch s {
        case .structure(let members, _):
            for member in members {
                guard let name = member.name else { continue }
                if member.type == "timestamp" { result.append(prefix + [name]) }
                if let inner = member.shape { result += timestampPaths(service: service, shape: inner, prefix: prefix + [name], depth: depth + 1) }
            }
        case .list(let member):
            if let inner = member.shape { result += timestampPaths(service: service, shape: inner, prefix: prefix, depth: depth + 1) }
        case .map:
            break
        }
        return result
    }
}
