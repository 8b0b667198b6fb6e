import Yams

/// Reads typed values out of a YAML mapping, remembering the key path so that
/// every error names the file, the key and what is wrong with it.
///
/// Keys that are present but not read by the end are reported as unknown:
/// a misspelt key is an error, never silently ignored.
struct ConfigNodeReader {
    let file: String
    let path: String
    private let mapping: Node.Mapping?
    private var consumed: Set<String> = []

    init(node: Node?, file: String, path: String) throws {
        self.file = file
        self.path = path
        switch node {
        case nil:
            mapping = nil
        case .mapping(let m)?:
            mapping = m
        case .scalar(let s)? where s.string.isEmpty || s.string == "~" || s.string == "null":
            mapping = nil
        default:
            throw CloudspoolError(.configuration, "\(file): \(path.isEmpty ? "the document" : "'\(path)'") must be a mapping of keys to values")
        }
    }

    private func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ what: String) -> CloudspoolError {
        CloudspoolError(.configuration, "\(file): key '\(keyPath(key))' \(what)")
    }

    private mutating func node(_ key: String) -> Node? {
        consumed.insert(key)
        guard let mapping else { return nil }
        guard let value = mapping[Node(key)] else { return nil }
        if case .scalar(let s) = value, s.style == .plain, s.string == "~" || s.string == "null" || s.string.isEmpty {
            return nil
        }
        return value
    }

    mutating func string(_ key: String) throws -> String? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let s) = value else { throw error(key, "must be a string") }
        return s.string
    }

    mutating func string(_ key: String, default fallback: String) throws -> String {
        try string(key) ?? fallback
    }

    mutating func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let value = node(key) else { return fallback }
        guard case .scalar(let s) = value, let number = Int(s.string.replacingOccurrences(of: "_", with: "")) else {
            throw error(key, "must be a whole number, not '\(Self.describe(value))'")
        }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), not \(number)")
        }
        return number
    }

    mutating func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = node(key) else { return fallback }
        guard case .scalar(let s) = value else { throw error(key, "must be true or false") }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "must be true or false, not '\(s.string)'")
        }
    }

    mutating func stringList(_ key: String) throws -> [String] {
        guard let value = node(key) else { return [] }
        switch value {
        case .sequence(let seq):
            return try seq.map { item in
                guard case .scalar(let s) = item else { throw error(key, "must be a list of strings") }
                return s.string
            }
        case .scalar(let s):
            return [s.string]
        default:
            throw error(key, "must be a list of strings")
        }
    }

    /// The items of a list of mappings, each read with its own reader
    /// (`key[0]`, `key[1]` in messages); empty when the key is absent.
    mutating func mappingList(_ key: String) throws -> [ConfigNodeReader] {
        guard let value = node(key) else { return [] }
        guard case .sequence(let items) = value else { throw error(key, "must be a list of mappings") }
        return try items.enumerated().map { n, item in
            try ConfigNodeReader(node: item, file: file, path: "\(keyPath(key))[\(n)]")
        }
    }

    mutating func choice(_ key: String, default fallback: String, allowed: [String]) throws -> String {
        guard let value = try string(key) else { return fallback }
        guard allowed.contains(value) else {
            throw error(key, "must be one of \(allowed.joined(separator: ", ")), not '\(value)'")
        }
        return value
    }

    mutating func child(_ key: String) throws -> ConfigNodeReader {
        let value = node(key)
        return try ConfigNodeReader(node: value, file: file, path: keyPath(key))
    }

    func isPresent(_ key: String) -> Bool {
        mapping?[Node(key)] != nil
    }

    /// Throws if the mapping has a key nobody read.
    func finish() throws {
        guard let mapping else { return }
        for (key, _) in mapping {
            let name = key.string ?? Self.describe(key)
            if !consumed.contains(name) {
                let known = consumed.sorted().joined(separator: ", ")
                throw CloudspoolError(.configuration, "\(file): unknown key '\(keyPath(name))' (known keys here: \(known))")
            }
        }
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return s.string
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }
}
