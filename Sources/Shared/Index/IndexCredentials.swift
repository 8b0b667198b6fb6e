import Foundation

/// Reads the index password or API key from where the config says: a file
/// (refused when others can read it) or an environment variable. The value
/// never appears in a message.
public enum IndexSecret {
    public static func read(file: String?, env: String?, environment: [String: String], what: String) throws -> String {
        if let file {
            var info = stat()
            guard stat(file, &info) == 0 else {
                throw CloudspoolError(.configuration, "cannot read the \(what) file \(file): \(systemErrorText())")
            }
            if info.st_mode & 0o004 != 0 {
                throw CloudspoolError(.configuration, "the \(what) file \(file) is readable by every user; run: chmod o-rwx \(file)")
            }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CloudspoolError(.configuration, "cannot read the \(what) file \(file): it \(FileProblem.describe(file))")
            }
            let value = text.trimmingCharacters(in: .newlines)
            guard !value.isEmpty else { throw CloudspoolError(.configuration, "the \(what) file \(file) is empty") }
            return value
        }
        if let env {
            guard let value = environment[env], !value.isEmpty else {
                throw CloudspoolError(.configuration, "the environment variable \(env) (the \(what)) is not set")
            }
            return value
        }
        throw CloudspoolError(.configuration, "no \(what) configured")
    }
}
