import Foundation

/// Index name stems; load adds `index_prefix` and transform adds the date.
public struct IndexNames: Sendable {
    public let cloudtrail: String
    public let billing: String
    public let inventory: String
    /// The users index, a single index (not dated): `awsusers-000001`.
    public let users: String
}
