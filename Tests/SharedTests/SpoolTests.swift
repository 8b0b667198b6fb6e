import Foundation
import Testing
@testable import Shared

@Suite struct SpoolTests {
    @Test func atomicWriteReplacesWholeFilesWithOwnerGroupModes() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("sub/state.json")
        try SpoolFiles.writeAtomically(Data("one".utf8), to: url)
        try SpoolFiles.writeAtomically(Data("two".utf8), to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "two")
        #expect(SpoolFiles.list(url.deletingLastPathComponent()) == ["state.json"])   // no temporary file left
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        #expect((attributes[.posixPermissions] as? Int ?? 0) & 0o007 == 0)
    }

    @Test func checkpointRoundTripAndVersionCheck() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let layout = SpoolLayout(root: folder.path)
        let store = CheckpointStore<BulkLoader.State>(layout: layout, name: "load")
        #expect(try store.load() == nil)
        var state = BulkLoader.State()
        state.files["cloudtrail/a.ndjson"] = 42
        try store.save(state)
        #expect(try store.load()?.files == ["cloudtrail/a.ndjson": 42])
        #expect(try String(contentsOf: store.url, encoding: .utf8) == #"{"state":{"files":{"cloudtrail\/a.ndjson":42}},"version":1}"#)
        let newer = CheckpointStore<BulkLoader.State>(layout: layout, name: "load", version: 2)
        let error = #expect(throws: CloudspoolError.self) { try newer.load() }
        #expect(error?.message.contains("has version 1, this cloudspool reads version 2") == true)
        try "{broken".write(to: store.url, atomically: true, encoding: .utf8)
        #expect(throws: CloudspoolError.self) { try store.load() }
    }

    @Test func lockIsExclusiveAndReleasedWithItsOwner() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let layout = SpoolLayout(root: folder.path)
        var first: StageLock? = try StageLock.acquire(stage: "load", layout: layout)
        #expect(first != nil)
        #expect(try StageLock.acquire(stage: "load", layout: layout) == nil)
        #expect(try StageLock.acquire(stage: "fetch", layout: layout) != nil)
        #expect(StageLock.holder(stage: "load", layout: layout) == "\(getpid())")
        first = nil
        #expect(try StageLock.acquire(stage: "load", layout: layout) != nil)
    }

    @Test func rawRunIsInvisibleUntilCommitted() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let layout = SpoolLayout(root: folder.path)
        let writer = try RawRunWriter(layout: layout, collector: "cloudtrail", runID: RunID(date: Date(), suffix: 1), startedAt: Date())
        try Data("x".utf8).write(to: try writer.fileURL("objects/a/b.json.gz"))
        try writer.add(.init(path: "objects/a/b.json.gz", service: "s3", operation: "GetObject", account: nil, region: nil,
                             parameters: ["Key": "a/b.json.gz"], requestedAt: "", httpStatus: 200, size: 1, sha256: ""))
        #expect(SpoolFiles.list(layout.raw("cloudtrail")).isEmpty)
        let visible = try writer.commit(finishedAt: Date())
        #expect(SpoolFiles.list(layout.raw("cloudtrail")) == [writer.runID.value])
        let manifest = try RawRunManifest.read(runFolder: visible)
        #expect(manifest.entries.map(\.path) == ["objects/a/b.json.gz"])
        #expect(SpoolFiles.list(layout.incoming("fetch")).isEmpty)
    }

    @Test func manifestIsWrittenFromTheEntriesFileOneEntryPerLine() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let layout = SpoolLayout(root: folder.path)
        let start = Date(timeIntervalSince1970: 1_795_860_900)   // 2026-11-28T10:15:00Z
        let writer = try RawRunWriter(layout: layout, collector: "inventory", runID: RunID(date: start, suffix: 0x1a2b3c4d), startedAt: start)
        for n in 1...2 {
            try writer.add(.init(path: "responses/111111111111/eu-west-1/ec2/DescribeVolumes-000\(n).xml", service: "ec2", operation: "DescribeVolumes",
                                 account: "111111111111", region: "eu-west-1", parameters: ["MaxResults": "500"], requestedAt: "2026-11-28T10:15:0\(n)Z",
                                 httpStatus: 200, size: Int64(n), sha256: "ab"))
        }
        writer.failures = [.init(account: "111111111111", region: "eu-west-1", call: "rds DescribeDBInstances", error: "denied \"x\"")]
        #expect(writer.count == 2 && writer.bytes == 3)
        let visible = try writer.commit(finishedAt: start.addingTimeInterval(9))
        let text = try String(contentsOf: visible.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(text == #"""
        {"chain":{},"collector":"inventory","entries":[
        {"account":"111111111111","httpStatus":200,"operation":"DescribeVolumes","parameters":{"MaxResults":"500"},"path":"responses/111111111111/eu-west-1/ec2/DescribeVolumes-0001.xml","region":"eu-west-1","requestedAt":"2026-11-28T10:15:01Z","service":"ec2","sha256":"ab","size":1},
        {"account":"111111111111","httpStatus":200,"operation":"DescribeVolumes","parameters":{"MaxResults":"500"},"path":"responses/111111111111/eu-west-1/ec2/DescribeVolumes-0002.xml","region":"eu-west-1","requestedAt":"2026-11-28T10:15:02Z","service":"ec2","sha256":"ab","size":2}
        ],"failures":[{"account":"111111111111","call":"rds DescribeDBInstances","error":"denied \"x\"","region":"eu-west-1"}],"finishedAt":"2026-11-28T10:15:09Z","runId":"20261128T101500Z-1a2b3c4d","startedAt":"2026-11-28T10:15:00Z","version":1}

        """#)
        #expect(try RawRunManifest.read(runFolder: visible).entries.count == 2)
        #expect(SpoolFiles.list(layout.incoming("fetch")).isEmpty)
    }

    @Test func aRunWithoutEntriesHasAnEmptyList() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let layout = SpoolLayout(root: folder.path)
        let writer = try RawRunWriter(layout: layout, collector: "billing", runID: RunID(date: Date(), suffix: 2), startedAt: Date())
        let visible = try writer.commit(finishedAt: Date())
        #expect(try RawRunManifest.read(runFolder: visible).entries.isEmpty)
    }

    @Test(arguments: [
        ("AWSLogs/1/CloudTrail/f.json.gz", true), ("../etc/passwd", false), ("/abs", false), ("a//b", false),
        ("a/./b", false), ("a/.hidden", false), ("a/b\nc", false), ("", false), ("a/b c'$(x);.json.gz", true),
    ])
    func safePaths(key: String, safe: Bool) {
        #expect(SafePath.isSafe(key) == safe)
        let path = SafePath.relativePath(forKey: key)
        #expect(SafePath.isSafe(path))
        #expect(safe ? path == key : path.hasPrefix("_unsafe/"))
    }

    @Test func runIDsSortInTimeOrder() throws {
        let a = RunID(date: UTCDate.parseISO8601("2026-11-28T10:15:00Z")!, suffix: 0xffff_ffff)
        let b = RunID(date: UTCDate.parseISO8601("2026-11-28T10:15:01Z")!, suffix: 0)
        #expect(a.value == "20261128T101500Z-ffffffff")
        #expect(a < b)
        #expect(RunID(a.value)?.date == UTCDate.parseISO8601("2026-11-28T10:15:00Z"))
        #expect(RunID("nonsense") == nil)
    }

    /// Within a second, names sort by millisecond; names made one after the other in one process sort in
    /// the order they were made, even in the same millisecond and whatever the random part draws.
    @Test func runIDsOfOneSecondSortInTheOrderTheyWereMade() throws {
        let second = UTCDate.parseISO8601("2026-11-28T10:15:00Z")!
        let early = RunID.orderedSuffix(second.addingTimeInterval(0.100), random: 0x3f_ffff)
        let later = RunID.orderedSuffix(second.addingTimeInterval(0.900), random: 0)
        #expect(early >> 22 == 100 && later >> 22 == 900)
        #expect(early < later)
        var previous = RunID(date: second.addingTimeInterval(0.5))
        for n in 0..<200 {
            let next = RunID(date: second.addingTimeInterval(0.5))   // the same millisecond every time
            #expect(previous < next, "name \(n)")
            #expect(next.value.hasPrefix("20261128T101500Z-"))
            previous = next
        }
    }

    @Test func ndjsonPairsAreReadFromAnOffsetAndBrokenFilesAreReported() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("a.ndjson")
        let pairs = (0..<3).map { #"{"index":{"_index":"i","_id":"\#($0)"}}"# + "\n" + #"{"n":\#($0)}"# + "\n" }
        try pairs.joined().write(to: url, atomically: true, encoding: .utf8)
        var reader = try NDJSONPairReader(url: url, offset: Int64(pairs[0].utf8.count))
        let second = try #require(try reader.next())
        #expect(String(decoding: second.document, as: UTF8.self) == "{\"n\":1}\n")
        #expect(second.endOffset == Int64(pairs[0].utf8.count + pairs[1].utf8.count))
        _ = try reader.next()
        #expect(try reader.next() == nil)

        try (pairs[0] + #"{"index":{}}"#).write(to: url, atomically: true, encoding: .utf8)
        var cut = try NDJSONPairReader(url: url, offset: 0)
        _ = try cut.next()
        #expect(throws: CloudspoolError.self) { try cut.next() }

        try ("not json\n{}\n").write(to: url, atomically: true, encoding: .utf8)
        var garbage = try NDJSONPairReader(url: url, offset: 0)
        let error = #expect(throws: CloudspoolError.self) { try garbage.next() }
        #expect(error?.message == #"a.ndjson: the line at byte 0 is not a bulk action ({"index":{…}})"#)
    }
}

@Suite struct BulkResponseTests {
    @Test func partialFailureIsReadItemByItem() throws {
        let body = #"""
        {"took":3,"errors":true,"items":[
          {"index":{"_index":"a","_id":"1","status":201,"result":"created"}},
          {"index":{"_index":"a","_id":"2","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
          {"index":{"_index":"a","_id":"3","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]","caused_by":{"type":"illegal_argument_exception","reason":"bad"}}}},
          {"create":{"_index":"a","_id":"4","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}
        ]}
        """#
        let response = try BulkResponse.parse(Data(body.utf8))
        #expect(response.items.map(\.status) == [201, 429, 400, 503])
        #expect(response.items.map(\.isSuccess) == [true, false, false, false])
        #expect(response.items.map(\.isRetryable) == [false, true, false, true])
        #expect(response.items[2].error == "mapper_parsing_exception: failed to parse field [x] (caused by illegal_argument_exception: bad)")
    }

    @Test func noErrorsIsReadFromTheHead() {
        #expect(BulkResponse.reportsNoErrors(Data(#"{"took":3,"errors":false,"items":[{"index":{"status":201}}]}"#.utf8)))
        #expect(BulkResponse.reportsNoErrors(Data(#"{"errors" : false,"items":[]}"#.utf8)))
        #expect(!BulkResponse.reportsNoErrors(Data(#"{"took":3,"errors":true,"items":[{"index":{"status":429}}]}"#.utf8)))
        #expect(!BulkResponse.reportsNoErrors(Data(#"{"error":{"type":"x"},"status":400}"#.utf8)))
    }

    @Test func notABulkResponse() {
        #expect(throws: CloudspoolError.self) { try BulkResponse.parse(Data("<html>proxy error</html>".utf8)) }
    }
}

@Suite struct RetryPolicyTests {
    @Test func fullJitterCappedExponential() {
        let policy = RetryPolicy(maxRetries: 5, baseDelay: 0.5, maxDelay: 10)
        // The random function returns the top of its range: the ceiling itself.
        let ceilings = (0..<7).map { policy.delay(attempt: $0, random: { $0.upperBound }) }
        #expect(ceilings == [0.5, 1, 2, 4, 8, 10, 10])
        #expect(policy.delay(attempt: 3, random: { $0.lowerBound }) == 0)
    }

    @Test func retryAfterIsHonouredUpToTheCap() {
        let policy = RetryPolicy(maxRetries: 5, baseDelay: 0.5, maxDelay: 10)
        #expect(policy.delay(attempt: 0, retryAfter: "3", random: { $0.lowerBound }) == 3)
        #expect(policy.delay(attempt: 0, retryAfter: "3600", random: { $0.lowerBound }) == 10)
        #expect(policy.delay(attempt: 0, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT", random: { $0.lowerBound }) == 0)
    }

    @Test func awsErrorsAreClassified() {
        let throttled = AWSServiceError.parse(service: "ec2", operation: "DescribeInstances", account: "111111111111", region: "eu-west-1",
                                              response: HTTPResponse(head: HTTPResponseHead(status: 503, headers: [:]),
                                                                     body: Data("<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>".utf8)))
        #expect(throttled.isRetryable)
        #expect(throttled.description == "ec2 DescribeInstances in eu-west-1 for account 111111111111 failed: HTTP 503 RequestLimitExceeded: Request limit exceeded. (request id r-1)")
        let denied = AWSServiceError.parse(service: "cloudtrail", operation: "LookupEvents", account: nil, region: "eu-west-1",
                                           response: HTTPResponse(head: HTTPResponseHead(status: 400, headers: [:]),
                                                                  body: Data(#"{"__type":"com.amazon#AccessDeniedException","message":"not allowed"}"#.utf8)))
        #expect(denied.code == "AccessDeniedException")
        #expect(denied.isAccessDenied)
        #expect(!denied.isRetryable)
        let expired = AWSServiceError.parse(service: "s3", operation: "GetObject", account: nil, region: "eu-west-1",
                                            response: HTTPResponse(head: HTTPResponseHead(status: 400, headers: [:]),
                                                                   body: Data("<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>".utf8)))
        #expect(expired.isExpiredCredentials)
    }
}
