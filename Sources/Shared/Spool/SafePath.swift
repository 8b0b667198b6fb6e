import Crypto
import Foundation

/// Turns names that come from outside (S3 keys) into relative paths that
/// stay inside their folder: no `..`, no absolute path, no empty or hidden
/// segment, no NUL or control character. Keys that are not safe are stored
/// under a hashed name, and the manifest keeps the real key.
public enum SafePath {
    public static func isSafe(_ key: String) -> Bool {
        guard !key.isEmpty, key.utf8.count < 1024, !key.hasPrefix("/") else { return false }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty || segment == "." || segment == ".." || segment.hasPrefix(".") || segment.utf8.count > 255 { return false }
            if segment.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) { return false }
        }
        return true
    }

    /// `key` itself when safe, otherwise `_unsafe/<sha256 of key><extension>`.
    public static func relativePath(forKey key: String) -> String {
        if isSafe(key) { return key }
        let digest = SHA256.hash(data: Data(key.utf8)).hexString
        let ext = key.hasSuffix(".json.gz") ? ".json.gz" : key.hasSuffix(".gz") ? ".gz" : ""
        return "_unsafe/\(digest)\(ext)"
    }
}
