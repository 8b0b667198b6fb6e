import Foundation
import Testing
@testable import Shared

@Suite struct GzipDecoderTests {
    static let text = Data((0..<20_000).map { "line \($0) of some CloudTrail-like text\n" }.joined().utf8)

    @Test(arguments: [1, 7, 4096, 1 << 20])
    func decodesWhatGzipWrote(feedSize: Int) throws {
        #expect(try gunzip(try gzipped(Self.text), feedSize: feedSize) == Self.text)
    }

    @Test func decodesConcatenatedMembers() throws {
        let a = try gzipped(Data("first\n".utf8))
        let b = try gzipped(Data("second\n".utf8))
        #expect(try gunzip(a + b) == Data("first\nsecond\n".utf8))
    }

    @Test func truncatedInputIsAnError() throws {
        let whole = try gzipped(Self.text)
        let error = #expect(throws: CloudspoolError.self) { try gunzip(whole.prefix(whole.count / 2)) }
        #expect(error?.code == .decompression)
        #expect(error?.message == "the gzip data ends early: the file is truncated")
    }

    @Test func notGzipIsAnError() throws {
        let error = #expect(throws: CloudspoolError.self) { try gunzip(Data("{\"Records\":[]}".utf8)) }
        #expect(error?.message == "the data is not valid gzip: incorrect header check")
    }

    @Test func emptyInputIsAnError() throws {
        let error = #expect(throws: CloudspoolError.self) { try gunzip(Data()) }
        #expect(error?.message == "the file is empty: an empty file is not valid gzip")
    }

    @Test func corruptBodyIsAnError() throws {
        var data = try gzipped(Self.text)
        for i in 20..<60 { data[i] ^= 0x5A }
        #expect(throws: CloudspoolError.self) { try gunzip(data) }
    }
}
