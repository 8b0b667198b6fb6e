import Foundation
import Logging

/// An AWS account the inventory covers.
public struct InventoryAccount: Sendable, Hashable, Comparable {
    public let id: String
    /// The account's name, when AWS Organizations told it.
    public let name: String?

    public static func < (a: InventoryAccount, b: InventoryAccount) -> Bool { a.id < b.id }
}

/// Works out which accounts to collect: an accounts file (the `account.txt`
/// format), accounts listed in the config, the organization's active
/// accounts, and the accounts of the shared config's role profiles.
public struct AccountDirectory {
    let settings: InventorySettings
    let environment: [String: String]

    public init(settings: InventorySettings, environment: [String: String]) {
        self.settings = settings
        self.environment = environment
    }

    /// Account ids of a file: one per line, `#` starts a comment, blank lines ignored.
    public static func parseAccountsFile(_ text: String, path: String) throws -> [String] {
        var result: [String] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = (raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            guard AccountID.isValid(line) else {
                throw CloudspoolError(.configuration, "\(path) line \(n + 1): '\(line)' is not a 12-digit AWS account id")
            }
            result.append(line)
        }
        return result
    }

    /// Every account to collect, sorted, each once; with `inventory.shard: K/N`, only those of shard K.
    public func resolve(organizations: () throws -> [InventoryAccount]) throws -> [InventoryAccount] {
        let all = try resolveAll(organizations: organizations)
        guard let shard = settings.shard else { return all }
        return all.filter { shard.contains($0.id) }
    }

    /// Every account the sources name, whatever the shard.
    func resolveAll(organizations: () throws -> [InventoryAccount]) throws -> [InventoryAccount] {
        var byID: [String: InventoryAccount] = [:]
        func add(_ id: String, _ name: String? = nil) {
            if byID[id]?.name == nil { byID[id] = InventoryAccount(id: id, name: name) }
        }
        if let path = settings.accountsFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CloudspoolError(.configuration, "cannot read the accounts file \(path) (inventory.accounts_file): it \(FileProblem.describe(path))")
            }
            for id in try Self.parseAccountsFile(text, path: path) { add(id) }
        }
        for id in settings.accounts { add(id) }
        if settings.profiles {
            let shared = try AWSSharedConfig.load(environment: environment)
            for (_, values) in shared.profiles {
                guard let arn = values["role_arn"]?.filter({ !$0.isWhitespace }) else { continue }
                let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
                if parts.count > 4, AccountID.isValid(parts[4]) { add(String(parts[4])) }
            }
        }
        if settings.organizations {
            for account in try organizations() { add(account.id, account.name) }
        }
        return byID.values.sorted()
    }
}
