import Foundation

/// Reads an NDJSON `_bulk` file as (action line, document line) pairs from a
/// byte offset, in fixed-size chunks: memory does not grow with the file.
/// A `delete` action has no document line; its pair has an empty document.
public struct NDJSONPairReader {
    /// One document: both lines with their newlines, and where the pair ends in the file.
    public struct Pair {
        public var action: ArraySlice<UInt8>
        public var document: ArraySlice<UInt8>
        public var endOffset: Int64
    }

    private enum ActionKind { case withDocument, delete }

    let url: URL
    private var handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var offset: Int64
    private var eof = false
    private let chunkSize = 1 << 20

    public init(url: URL, offset: Int64) throws {
        self.url = url
        self.offset = offset
        do {
            handle = try FileHandle(forReadingFrom: url)
            try handle.seek(toOffset: UInt64(offset))
        } catch {
            throw CloudspoolError(.spool, "cannot open \(url.path): it \(FileProblem.describe(url.path, error))")
        }
    }

    /// The next pair, nil at the end of the file. Throws on a broken file
    /// (a lone action line at the end, a line that is not an action).
    public mutating func next() throws -> Pair? {
        guard let action = try line() else { return nil }
        let kind: ActionKind? = action.withUnsafeBytes { bytes in
            guard let members = try? JSONObjectScanner.members(of: bytes), members.count == 1, members[0].kind == .object else { return nil }
            return bytes[members[0].key].elementsEqual("delete".utf8) ? .delete : .withDocument
        }
        guard let kind else {
            throw CloudspoolError(.format, "\(url.lastPathComponent): the line at byte \(offset - Int64(action.count)) is not a bulk action ({\"index\":{…}})")
        }
        if kind == .delete {
            // A delete action stands alone: no document line follows it.
            return Pair(action: action, document: [], endOffset: offset)
        }
        guard let document = try line() else {
            throw CloudspoolError(.format, "\(url.lastPathComponent): the file ends after an action line without its document (truncated?)")
        }
        return Pair(action: action, document: document, endOffset: offset)
    }

    public func close() {
        try? handle.close()
    }

    /// The next line including its `\n`; a last line without one is an error (a file cut short).
    private mutating func line() throws -> ArraySlice<UInt8>? {
        while true {
            // memchr: the generic firstIndex(of:) looks at one byte per step.
            let found = buffer.withUnsafeBufferPointer { b -> Int? in
                guard start < b.count, let hit = memchr(b.baseAddress! + start, 10, b.count - start) else { return nil }
                return b.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            }
            if let newline = found {
                let line = buffer[start...newline]
                start = newline + 1
                offset += Int64(line.count)
                return line
            }
            if eof {
                if start < buffer.count {
                    throw CloudspoolError(.format, "\(url.lastPathComponent): the last line has no newline (the file was cut short)")
                }
                return nil
            }
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            let data: Data?
            do {
                data = try handle.read(upToCount: chunkSize)
            } catch {
                throw CloudspoolError(.spool, "cannot read \(url.path): it \(FileProblem.describe(url.path, error))")
            }
            guard let data, !data.isEmpty else { eof = true; continue }
            buffer.append(contentsOf: data)
        }
    }
}
