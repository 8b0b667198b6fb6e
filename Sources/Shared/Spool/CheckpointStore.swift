import Foundation

/// A checkpoint: a versioned Codable state in `state/<name>.json`, replaced
/// atomically (temporary file, fsync, rename), never half-written.
public struct CheckpointStore<State: Codable & Sendable>: Sendable {
    public let url: URL
    public let version: Int

    private struct Envelope: Codable {
        let version: Int
        let state: State
    }

    public init(layout: SpoolLayout, name: String, version: Int = 1) {
        self.init(url: layout.checkpoint(name), version: version)
    }

    /// A checkpoint at its own path (a folder of per-unit states under `state/`).
    public init(url: URL, version: Int = 1) {
        self.url = url
        self.version = version
    }

    /// The saved state, nil when none was saved yet.
    public func load() throws -> State? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CloudspoolError(.spool, "cannot read checkpoint \(url.path): it \(FileProblem.describe(url.path, error))")
        }
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: data)
        } catch {
            throw CloudspoolError(.spool, "checkpoint \(url.path) is not readable (\(error)); move it aside to start that stage over (work is redone, ids keep it from being duplicated)")
        }
        guard envelope.version == version else {
            throw CloudspoolError(.spool, "checkpoint \(url.path) has version \(envelope.version), this cloudspool reads version \(version)")
        }
        return envelope.state
    }

    public func save(_ state: State) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(Envelope(version: version, state: state))
        try SpoolFiles.writeAtomically(data, to: url)
    }
}
