import Foundation

/// The shared AWS `config` and `credentials` files, as the AWS CLI reads them.
///
/// Profiles come from `[profile NAME]` (and `[default]`) in the config file
/// and `[NAME]` in the credentials file; for the same key the credentials
/// file wins, as in the SDKs.
public struct AWSSharedConfig: Sendable {
    /// Every profile's settings, keys lowercased.
    public let profiles: [String: [String: String]]
    public let configPath: String
    public let credentialsPath: String

    /// Reads the files named by `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`, or `~/.aws/`.
    public static func load(environment: [String: String]) throws -> AWSSharedConfig {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let configPath = expand(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config", home: home)
        let credentialsPath = expand(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials", home: home)
        var profiles: [String: [String: String]] = [:]
        if let text = try? String(contentsOfFile: configPath, encoding: .utf8) {
            for (section, values) in try parseINI(text, file: configPath) {
                let name: String
                if section == "default" { name = "default" }
                else if section.hasPrefix("profile ") { name = section.dropFirst(8).trimmingCharacters(in: .whitespaces) }
                else { continue }   // sso-session, services: not profiles
                profiles[name, default: [:]].merge(values) { _, new in new }
            }
        }
        if let text = try? String(contentsOfFile: credentialsPath, encoding: .utf8) {
            for (section, values) in try parseINI(text, file: credentialsPath) {
                profiles[section, default: [:]].merge(values) { _, new in new }
            }
        }
        return AWSSharedConfig(profiles: profiles, configPath: configPath, credentialsPath: credentialsPath)
    }

    static func expand(_ path: String, home: String) -> String {
        path.hasPrefix("~/") ? home + path.dropFirst(1) : path
    }

    /// Sections and their `key = value` pairs. Comments start with `#` or `;`;
    /// indented lines continue a nested block (kept, but not used).
    static func parseINI(_ text: String, file: String) throws -> [(String, [String: String])] {
        var result: [(String, [String: String])] = []
        var current: String?
        var values: [String: String] = [:]
        var lastKey: String?
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else {
                    throw CloudspoolError(.credentials, "\(file) line \(number + 1): section header must end with ']'")
                }
                if let current { result.append((current, values)) }
                current = trimmed.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                values = [:]
                lastKey = nil
                continue
            }
            if line.first == " " || line.first == "\t", let lastKey {
                // Continuation of a nested block such as `s3 =\n  addressing_style = path`.
                values[lastKey, default: ""] += "\n" + trimmed
                continue
            }
            guard current != nil else { continue }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw CloudspoolError(.credentials, "\(file) line \(number + 1): expected 'key = value'")
            }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if let hash = value.range(of: " #") ?? value.range(of: " ;") { value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces) }
            values[key] = value
            lastKey = key
        }
        if let current { result.append((current, values)) }
        return result
    }
}
