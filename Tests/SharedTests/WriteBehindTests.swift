import Foundation
import Testing
@testable import Shared

/// `OutputFile`'s write-behind: the bytes are the same, and the pages of what was written leave the
/// page cache as the file grows (read back with `mincore`).
@Suite struct WriteBehindTests {
    static let mebibyte = 1 << 20

    /// How many of the file's first `length` bytes' pages are in the page cache.
    static func residentPages(_ url: URL, length: Int) throws -> Int {
        let fd = open(url.path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let map = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        try #require(map != MAP_FAILED)
        defer { munmap(map, length) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: (length + page - 1) / page)
        try #require(mincore(map, length, &vector) == 0)
        return vector.reduce(0) { $0 + Int($1 & 1) }
    }

    /// tmpfs keeps files in the page cache itself: nothing can leave it there.
    static func onTmpfs(_ url: URL) -> Bool {
        // The file system of the longest mount point that holds the path.
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        let path = url.resolvingSymlinksInPath().path
        var best: (point: String, type: String) = ("", "")
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 2 else { continue }
            let point = fields[1]
            let holds = point == "/" || path == point || path.hasPrefix(point + "/")
            if holds && point.count > best.point.count { best = (point, fields[2]) }
        }
        return best.type == "tmpfs"
    }

    static func chunk(_ n: Int) -> [UInt8] { [UInt8](repeating: UInt8(truncatingIfNeeded: n &* 31 &+ 7), count: 256 << 10) }

    @Test func pagesLeaveTheCacheAsTheFileGrows() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("out.ndjson")
        let file = try OutputFile(creating: url, writeBehind: Self.mebibyte)
        var expected: [UInt8] = []
        for n in 0..<32 {   // 8 MiB
            try file.write(Self.chunk(n))
            expected += Self.chunk(n)
        }
        try file.flush()
        if !Self.onTmpfs(url) {
            // Everything but the last two windows was written, waited for and dropped.
            #expect(try Self.residentPages(url, length: 5 * Self.mebibyte) == 0)
        }
        try file.sync()
        if !Self.onTmpfs(url) {
            #expect(try Self.residentPages(url, length: expected.count) == 0)
        }
        try file.close()
        #expect(try Data(contentsOf: url) == Data(expected))
    }

    /// Without write-behind the same file stays cached (what makes the test above able to fail).
    @Test func withoutWriteBehindPagesStay() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("out.ndjson")
        let file = try OutputFile(creating: url)
        for n in 0..<32 { try file.write(Self.chunk(n)) }
        try file.sync()
        try file.close()
        #expect(try Self.residentPages(url, length: 8 * Self.mebibyte) > 0)
    }

    /// A rollback below what was already written behind cuts the file as without it.
    @Test func truncationBehindTheWindow() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("out.ndjson")
        let file = try OutputFile(creating: url, writeBehind: Self.mebibyte)
        var expected: [UInt8] = []
        for n in 0..<16 {
            try file.write(Self.chunk(n))
            expected += Self.chunk(n)
        }
        try file.truncate(to: Int64(Self.mebibyte + 5))
        expected.removeLast(expected.count - (Self.mebibyte + 5))
        for n in 16..<24 {
            try file.write(Self.chunk(n))
            expected += Self.chunk(n)
        }
        try file.sync()
        try file.close()
        #expect(try Data(contentsOf: url) == Data(expected))
    }
}
