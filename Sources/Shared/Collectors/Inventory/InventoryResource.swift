/// One resource document the inventory builder made, as the change feed and
/// the current-state index need it.
struct InventoryResource: Sendable {
    /// `resource.type` (`ec2.instance`).
    let type: String
    /// `resource.id`.
    let id: String
    /// The document id (the same in the daily and the current-state index).
    let documentID: String
    /// The whole document.
    let document: JSONValue
    /// The resource as AWS describes it (`aws.<service>.<type>`).
    let resource: JSONValue

    /// Its `Name` tag, if it has one.
    var name: String? {
        resource["Tags"]?.arrayValue.first { $0["Key"]?.stringValue == "Name" }?["Value"]?.stringValue
    }
}
