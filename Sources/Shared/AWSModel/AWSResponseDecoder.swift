import Foundation

/// Decodes a raw AWS answer into the JSON the AWS CLI prints for it (botocore's
/// parse), walking the generated shape table: element names, lists (every
/// child is an item), scalar conversions, result wrappers, exactly as
/// `tools/README.md` describes. Epoch timestamps of JSON APIs become ISO 8601 UTC.
public struct AWSResponseDecoder: Sendable {
    public let model: AWSShapeModel

    public init(model: AWSShapeModel = .bundled) {
        self.model = model
    }

    /// The output structure of one page of `operation`.
    public func decode(service: String, operation: String, body: Data) throws -> JSONValue {
        guard let s = model.services[service], let op = s.operations[operation], let output = op.output else {
            throw CloudspoolError(.format, "no output shape known for \(service) \(operation)")
        }
        let what = "\(service) \(operation)"
        switch s.protocol {
        case "ec2", "query":
            let root = try XMLNode.parse(body, what: what)
            var start = root
            if s.protocol == "query", let wrapper = op.resultWrapper {
                guard let inner = root.child(wrapper) else {
                    throw CloudspoolError(.format, "\(what): the answer has no <\(wrapper)>")
                }
                start = inner
            }
            return try xml(start, shape: output, service: s, what: what)
        case "json", "rest-json":
            if body.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) { return .object([]) }
            let value: JSONValue
            do {
                value = try JSONValueParser.parse(Array(body))
            } catch {
                throw CloudspoolError(.format, "\(what): the answer is not JSON: \(error)")
            }
            return try json(value, shape: output, service: s, rest: s.protocol == "rest-json", what: what) ?? .object([])
        default:
            throw CloudspoolError(.format, "\(what): protocol \(s.protocol) is not supported")
        }
    }

    // MARK: XML

    func xml(_ node: XMLNode, shape name: String, service: AWSShapeModel.Service, what: String) throws -> JSONValue {
        guard let shape = service.shapes[name] else { throw CloudspoolError(.format, "\(what): unknown shape \(name)") }
        switch shape {
        case .structure(let members, let union):
            var out: [(String, JSONValue)] = []
            for member in members {
                guard let key = member.name, let wire = member.wire else { continue }
                if member.flattened {
                    let items = node.children(wire)
                    if items.isEmpty { continue }
                    out.append((key, .array(try items.map { try xmlValue($0, ref: member, service: service, what: what, asListItem: true) })))
                    continue
                }
                guard let child = node.child(wire) else { continue }
                out.append((key, try xmlValue(child, ref: member, service: service, what: what)))
            }
            if union && out.isEmpty, let first = node.children.first {
                return .object([("SDK_UNKNOWN_MEMBER", .object([("name", .string(first.name))]))])
            }
            return .object(out)
        case .list(let member):
            return .array(try node.children.map { try xmlScalarOrShape($0, ref: member, service: service, what: what) })
        case .map(let keyRef, let valueRef):
            var out: [(String, JSONValue)] = []
            for entry in node.children {
                guard let k = entry.child(keyRef.wire ?? "key")?.text else { continue }
                let v = try entry.child(valueRef.wire ?? "value").map { try xmlScalarOrShape($0, ref: valueRef, service: service, what: what) } ?? .null
                out.append((k, v))
            }
            return .object(out)
        }
    }

    func xmlValue(_ node: XMLNode, ref: AWSShapeModel.Ref, service: AWSShapeModel.Service, what: String, asListItem: Bool = false) throws -> JSONValue {
        if asListItem, let inner = ref.shape, case .list(let member)? = service.shapes[inner] {
            return try xmlScalarOrShape(node, ref: member, service: service, what: what)
        }
        return try xmlScalarOrShape(node, ref: ref, service: service, what: what)
    }

    func xmlScalarOrShape(_ node: XMLNode, ref: AWSShapeModel.Ref, service: AWSShapeModel.Service, what: String) throws -> JSONValue {
        if let shape = ref.shape { return try xml(node, shape: shape, service: service, what: what) }
        let text = node.text
        switch ref.type {
        case "boolean": return .bool(text == "true")
        case "integer", "long":
            let cleaned = text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "_", with: "")
            guard let v = Int64(cleaned.hasPrefix("+") ? String(cleaned.dropFirst()) : cleaned) else {
                throw CloudspoolError(.format, "\(what): <\(node.name)> should hold a whole number, not '\(text.prefix(40))'")
            }
            return .int(v)
        case "float", "double":
            guard let v = Double(text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "_", with: "")) else {
                throw CloudspoolError(.format, "\(what): <\(node.name)> should hold a number, not '\(text.prefix(40))'")
            }
            return .double(v)
        default:
            return .string(text)
        }
    }

    // MARK: JSON

    func json(_ value: JSONValue, shape name: String, service: AWSShapeModel.Service, rest: Bool, what: String) throws -> JSONValue? {
        guard let shape = service.shapes[name] else { throw CloudspoolError(.format, "\(what): unknown shape \(name)") }
        switch shape {
        case .structure(let members, _):
            guard case .object = value else { return nil }
            var out: [(String, JSONValue)] = []
            for member in members {
                guard let key = member.name, let wire = member.wire, let field = value[wire], field != .null else { continue }
                if let converted = try jsonValue(field, ref: member, service: service, rest: rest, what: what) { out.append((key, converted)) }
            }
            return .object(out)
        case .list(let member):
            return .array(try value.arrayValue.map { item in item == .null ? .null : (try jsonValue(item, ref: member, service: service, rest: rest, what: what) ?? .null) })
        case .map(_, let valueRef):
            guard case .object(let pairs) = value else { return nil }
            return .object(try pairs.map { ($0.0, try jsonValue($0.1, ref: valueRef, service: service, rest: rest, what: what) ?? .null) })
        }
    }

    func jsonValue(_ value: JSONValue, ref: AWSShapeModel.Ref, service: AWSShapeModel.Service, rest: Bool, what: String) throws -> JSONValue? {
        if let shape = ref.shape { return try json(value, shape: shape, service: service, rest: rest, what: what) }
        switch ref.type {
        case "timestamp":
            switch value {
            case .int(let v): return .string(Self.epochISO(Double(v), text: String(v)))
            case .double(let v): return .string(Self.epochISO(v, text: "\(v)"))
            default: return value
            }
        case "boolean" where rest:
            if case .string(let s) = value { return .bool(s.lowercased() == "true") }
            if case .bool = value { return value }
            return .bool(false)
        case "integer", "long":
            guard rest else { return value }
            switch value {
            case .double(let d): return .int(Int64(d))
            case .string(let s): return Int64(s.trimmingCharacters(in: .whitespaces)).map { .int($0) } ?? value
            default: return value
            }
        case "float", "double":
            guard rest else { return value }
            switch value {
            case .int(let i): return .double(Double(i))
            case .string(let s): return Double(s).map { .double($0) } ?? value
            default: return value
            }
        default:
            return value
        }
    }

    /// Epoch seconds -> ISO 8601 UTC, rounded to the millisecond through the
    /// number's shortest decimal text; `.fff` only when the milliseconds are not 0.
    static func epochISO(_ seconds: Double, text: String) -> String {
        var decimal = Decimal(string: text) ?? Decimal(seconds)
        decimal *= 1000
        var rounded = Decimal()
        NSDecimalRound(&rounded, &decimal, 0, .bankers)
        let millis = NSDecimalNumber(decimal: rounded).int64Value
        var whole = millis / 1000
        var ms = millis % 1000
        if ms < 0 { ms += 1000; whole -= 1 }
        let base = UTCDate.iso8601(Date(timeIntervalSince1970: TimeInterval(whole)))
        if ms == 0 { return base }
        return String(base.dropLast()) + "." + UTCDate.pad(Int(ms), 3) + "Z"
    }
}
