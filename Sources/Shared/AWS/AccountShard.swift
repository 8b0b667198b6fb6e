import Crypto
import Foundation

/// `inventory.shard: K/N`: this host collects only the accounts of shard K of
/// N, so N hosts split an organization without talking to each other.
///
/// An account belongs to shard `(h mod N) + 1`, where `h` is the first 8
/// bytes (big-endian) of the SHA-256 of its 12-digit id: stable across runs,
/// hosts and versions, independent of which other accounts exist, and spread
/// evenly. Every host writes to the same indices with the same ids, so the
/// dashboards see one estate.
public struct AccountShard: Sendable, Equatable, CustomStringConvertible {
    /// 1-based.
    public let index: Int
    public let count: Int

    public var description: String { "\(index)/\(count)" }

    public init?(index: Int, count: Int) {
        guard count >= 1, (1...count).contains(index) else { return nil }
        self.index = index
        self.count = count
    }

    /// Parses `K/N` (spaces allowed around the numbers).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else { return nil }
        self.init(index: k, count: n)
    }

    /// The shard (1-based) of `account` among `count`.
    public static func shard(of account: String, count: Int) -> Int {
        let digest = Array(SHA256.hash(data: Data(account.utf8)))
        let h = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int(h % UInt64(count)) + 1
    }

    public func contains(_ account: String) -> Bool {
        Self.shard(of: account, count: count) == index
    }
}
