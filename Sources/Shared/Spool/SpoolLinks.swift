import Foundation

/// Symbolic links inside the spool. cloudspool never follows one: a linked
/// `.incoming/` would make a stage clear a folder outside the spool, a linked
/// dead-letter file would make load append outside it. A stage finds them
/// before any work and refuses to run (exit 2) until they are removed.
public enum SpoolLinks {
    /// Links among the spool's folders and the entries of its folders, down to
    /// `raw/<collector>/<run>/` (the files of a raw run are checked one by one
    /// when they are read: `RawFileVerification`).
    public static func find(in layout: SpoolLayout, maxDepth: Int = 3) -> [String] {
        var found: [String] = []
        func walk(_ url: URL, _ relative: String, _ depth: Int) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return }
            for name in names.sorted() {
                let child = url.appendingPathComponent(name)
                let path = relative.isEmpty ? name : "\(relative)/\(name)"
                var info = stat()
                guard lstat(child.path, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFLNK:
                    found.append(path)
                case S_IFDIR where depth < maxDepth:
                    walk(child, path, depth + 1)
                default:
                    break
                }
            }
        }
        // The spool root itself may be a link (a mount moved elsewhere): only what is inside it counts.
        walk(layout.root, "", 1)
        return found
    }

    /// Throws a configuration error naming the links, if there are any.
    public static func refuse(in layout: SpoolLayout) throws {
        let links = find(in: layout)
        guard !links.isEmpty else { return }
        let shown = links.prefix(5).map { layout.root.appendingPathComponent($0).path }.joined(separator: ", ")
        throw CloudspoolError(.configuration, "the spool holds \(links.count) symbolic link(s), which cloudspool never follows: \(shown)"
                              + (links.count > 5 ? ", ..." : "") + "; remove them (point spool: at the real folder instead)")
    }
}
