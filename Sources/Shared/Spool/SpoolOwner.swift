import Foundation

/// The indices a spool belongs to (`state/spool.json`): the index prefix and
/// index names (and, for the operator, the URL first seen), recorded by the
/// first stage run whose config has an `index` section. The NDJSON in the
/// spool already names its indices, so a second config with other index names
/// on the same spool would silently load everything into the first config's
/// indices: it is refused. A different URL (a proxy, a moved server) for the
/// same indices is allowed.
public struct SpoolOwner: Codable, Sendable, Equatable {
    public var indexURL: String
    public var indexPrefix: String
    public var names: [String: String]

    init(settings: IndexSettings) {
        indexURL = settings.url
        indexPrefix = settings.indexPrefix
        names = ["cloudtrail": settings.names.cloudtrail, "billing": settings.names.billing,
                 "inventory": settings.names.inventory, "users": settings.names.users]
    }

    /// Records the owner on first use; throws a configuration error when `config` names another index.
    public static func check(config: CloudspoolConfig, layout: SpoolLayout) throws {
        guard let settings = config.index else { return }
        let store = CheckpointStore<SpoolOwner>(layout: layout, name: "spool")
        let mine = SpoolOwner(settings: settings)
        guard let recorded = try store.load() else {
            try SpoolFiles.makeDirectory(layout.state)
            try store.save(mine)
            return
        }
        guard recorded.indexPrefix != mine.indexPrefix || recorded.names != mine.names else { return }
        var differences: [String] = []
        if recorded.indexPrefix != mine.indexPrefix { differences.append("index.index_prefix '\(mine.indexPrefix)' (the spool's: '\(recorded.indexPrefix)')") }
        for key in recorded.names.keys.sorted() where recorded.names[key] != mine.names[key] {
            differences.append("index.names.\(key) \(mine.names[key] ?? "") (the spool's: \(recorded.names[key] ?? ""))")
        }
        throw CloudspoolError(.configuration, "\(config.file): this spool (\(layout.root.path)) belongs to other indices (first loaded to \(recorded.indexURL)): "
                              + differences.joined(separator: ", ")
                              + ". Give each set of indices its own spool; to rename them, finish loading, then remove \(store.url.path)")
    }
}
