import Foundation

/// Reads the hosts of a raw monitoring run, source by source, streaming:
/// a livestatus answer or an OP5 page of any size is read in fixed memory,
/// one host at a time.
struct MonitoringRunReader {
    /// A source of the run: read whole, or not (and why).
    struct Source {
        let name: String
        let type: String
        /// Why the source cannot be trusted; nil when fetch read it whole.
        var failure: String?
        var entries: [RawRunManifest.Entry] = []
    }

    let folder: URL
    let manifest: RawRunManifest
    let idVariables: Set<String>
    /// The run's sources in the order fetch asked them.
    private(set) var sources: [Source] = []

    init(folder: URL, idVariables: Set<String>) throws {
        self.folder = folder
        self.manifest = try RawRunManifest.read(runFolder: folder)
        self.idVariables = idVariables
        var byName: [String: Int] = [:]
        for entry in manifest.entries {
            guard let name = entry.parameters["source"] else { continue }
            if byName[name] == nil {
                byName[name] = sources.count
                sources.append(Source(name: name, type: entry.service))
            }
            sources[byName[name]!].entries.append(entry)
        }
        let prefix = MonitoringFetcher.failureCall(source: "")
        for failure in manifest.failures ?? [] where failure.call.hasPrefix(prefix) {
            let name = String(failure.call.dropFirst(prefix.count))
            if byName[name] == nil {
                byName[name] = sources.count
                sources.append(Source(name: name, type: ""))
            }
            sources[byName[name]!].failure = failure.error
        }
    }

    /// Calls `body` with every host of `source`, in answer order. Throws when
    /// a stored answer is not what fetch stored (`RawFileMismatch`) or not whole.
    func forEachHost(of source: Source, _ body: (MonitoringHost) throws -> Void) throws {
        for entry in source.entries {
            // What fetch stored, and nothing else (size and SHA-256 against the manifest).
            try entry.verify(in: folder)
            let url = folder.appendingPathComponent(entry.path)
            switch entry.service {
            case MonitoringSettings.SourceType.livestatus.rawValue:
                var answer = LivestatusAnswer()
                var splitter = JSONArrayStreamSplitter()
                try FileChunkReader.read(url) { chunk in
                    try answer.feed(chunk) { header, bytes in
                        guard header.status == 200 else {
                            throw CloudspoolError(.monitoring, "the stored livestatus answer has status \(header.status)")
                        }
                        try splitter.feed(bytes) { try body(try MonitoringHost.livestatusRow(try Self.parse($0), idVariables: idVariables)) }
                    }
                }
                _ = try answer.finish()
                try splitter.finish()
            case MonitoringSettings.SourceType.op5.rawValue:
                var splitter = JSONArrayStreamSplitter()
                try FileChunkReader.read(url) { chunk in
                    try splitter.feed(chunk) { try body(try MonitoringHost.op5Row(try Self.parse($0), idVariables: idVariables)) }
                }
                try splitter.finish()
            case MonitoringSettings.SourceType.file.rawValue:
                let data = try Data(contentsOf: url)
                for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                    if let host = MonitoringHost.listLine(line) { try body(host) }
                }
            default:
                throw CloudspoolError(.spool, "\(url.path): unknown monitoring source type '\(entry.service)'")
            }
        }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        do {
            return try JSONValueParser.parse(Array(bytes))
        } catch {
            throw CloudspoolError(.format, "a row is not JSON (\(error))")
        }
    }
}
