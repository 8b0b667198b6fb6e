/// Splitting of absolute URLs into the parts SigV4 and error messages need,
/// without Foundation's URL re-encoding anything.
public enum URLParts {
    /// `https://host:port/path?query` -> ("https", "host:port", "/path", "query").
    public static func split(_ url: String) -> (scheme: String, authority: String, path: String, query: String) {
        var rest = Substring(url)
        var scheme = ""
        if let r = rest.range(of: "://") {
            scheme = String(rest[..<r.lowerBound]).lowercased()
            rest = rest[r.upperBound...]
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = String(rest[..<authorityEnd])
        rest = rest[authorityEnd...]
        var path = rest
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") {
            path = rest[..<q]
            query = rest[rest.index(after: q)...]
        }
        return (scheme, authority, path.isEmpty ? "/" : String(path), String(query))
    }

    /// The host (and port) of a URL, for messages: never the path or the query.
    public static func host(of url: String) -> String {
        split(url).authority
    }
}
