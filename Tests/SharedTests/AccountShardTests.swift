import Foundation
import Testing
@testable import Shared

@Suite struct AccountShardTests {
    /// 1,000 account ids, as an organization would have them.
    let accounts: [String] = (0..<1000).map { n in
        let v = (UInt64(n) &* 2_654_435_761 &+ 100_000_000_000) % 900_000_000_000 + 100_000_000_000
        return String(v)
    }

    @Test(arguments: [1, 2, 3, 4, 7, 10, 16, 64])
    func nShardsPartitionTheAccountsExactly(count: Int) throws {
        var seen: [String: Int] = [:]
        for k in 1...count {
            let shard = try #require(AccountShard(index: k, count: count))
            for account in accounts where shard.contains(account) {
                #expect(seen[account] == nil, "\(account) in shard \(seen[account] ?? 0) and \(k)")
                seen[account] = k
            }
        }
        #expect(seen.count == accounts.count)    // every account in one shard
        // and evenly: no shard more than 40% away from its share (1000 accounts)
        let sizes = (1...count).map { k in seen.values.filter { $0 == k }.count }
        let share = Double(accounts.count) / Double(count)
        if count <= 16 {
            #expect(sizes.allSatisfy { abs(Double($0) - share) <= 0.4 * share }, "\(sizes)")
        }
    }

    @Test func theHashIsFixed() {
        // SHA-256("123456789012") starts with 2a33349e7e606a8a (as docs/scaling.md shows, computed with
        // Python's hashlib): pinned, because a change of the hash would move accounts between hosts.
        #expect(SHA256Hex.of(Data("123456789012".utf8)).hasPrefix("2a33349e7e606a8a"))
        #expect((1...5).map { AccountShard.shard(of: "123456789012", count: $0) } == [1, 1, 2, 3, 5])
        #expect((1...5).map { AccountShard.shard(of: "111111111111", count: $0) } == [1, 1, 2, 3, 2])
    }

    @Test func parsing() {
        #expect(AccountShard("1/2") == AccountShard(index: 1, count: 2))
        #expect(AccountShard(" 3 / 3 ")?.description == "3/3")
        for bad in ["0/2", "3/2", "2", "a/b", "1/0", "-1/2", "1/2/3", ""] {
            #expect(AccountShard(bad) == nil, "\(bad)")
        }
    }

    @Test func theDirectoryKeepsOnlyTheShardsAccounts() throws {
        let today = UTCDate.parseDay("2026-11-28")!
        let list = accounts.prefix(50).map { "\"\($0)\"" }.joined(separator: ", ")
        var union: [String] = []
        for k in 1...3 {
            let config = try CloudspoolConfig.parse(yaml: "spool: /s\ninventory: {accounts: [\(list)], regions: [eu-west-1], shard: '\(k)/3'}\n",
                                                    file: "c.yaml", today: today)
            let settings = try #require(config.inventory)
            #expect(settings.shard == AccountShard(index: k, count: 3))
            let resolved = try AccountDirectory(settings: settings, environment: [:]).resolve(organizations: { [] }).map(\.id)
            #expect(resolved.allSatisfy { AccountShard.shard(of: $0, count: 3) == k })
            // a narrower scope (s3.accounts) keeps the shard
            #expect(settings.restricted(to: ["111111111111"], accountsFile: nil).shard == settings.shard)
            union += resolved
        }
        #expect(union.sorted() == accounts.prefix(50).sorted())
        let error = #expect(throws: CloudspoolError.self) {
            try CloudspoolConfig.parse(yaml: "spool: /s\ninventory: {accounts: [\"111111111111\"], regions: [eu-west-1], shard: 4/3}\n", file: "c.yaml", today: today)
        }
        #expect(error?.message == "c.yaml: key 'inventory.shard' must be K/N with 1 <= K <= N (this host collects shard K of N), not '4/3'")
    }
}
