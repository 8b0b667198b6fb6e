import Foundation

/// Which buckets (and in which accounts) the S3 object search lists.
public struct S3SearchSettings: Sendable {
    /// Buckets listed in the config.
    public let buckets: [String]
    /// A file of bucket names, one per line (the `bucket_s3.txt` format).
    public let bucketsFile: String?
    /// Accounts to look in (default: the inventory's accounts).
    public let accounts: [String]
    /// A file of account ids (the `account_s3.txt` format).
    public let accountsFile: String?

    init(reader: inout ConfigNodeReader) throws {
        buckets = try reader.stringList("buckets")
        bucketsFile = try reader.string("buckets_file")
        accounts = try reader.stringList("accounts")
        for account in accounts where !AccountID.isValid(account) {
            throw reader.error("accounts", "must list 12-digit AWS account ids, not '\(account)'")
        }
        accountsFile = try reader.string("accounts_file")
        if buckets.isEmpty && bucketsFile == nil {
            throw reader.error("buckets", "or buckets_file is required: the buckets whose objects are indexed")
        }
    }

    /// Bucket names from the config and the file (one per line, `#` comments).
    public func bucketNames() throws -> [String] {
        var names = buckets
        if let path = bucketsFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CloudspoolError(.configuration, "cannot read the buckets file \(path) (s3.buckets_file): it \(FileProblem.describe(path))")
            }
            for line in text.split(separator: "\n") {
                let name = (line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
                if !name.isEmpty { names.append(name) }
            }
        }
        return Array(Set(names)).sorted()
    }
}
