/// The registry: every collector, in the order the stages run them.
/// Adding a collector is one file in `Collectors/<Name>/` and one line here.
public enum Collectors {
    public static let all: [Collector] = [
        .cloudTrail,
        .digests,
        .billing,
        .monitoring,
        .inventory,
        .inventoryChanges,
        .iam,
        .s3Search,
    ]

    /// The names of every collector, for messages and option checks.
    public static var names: [String] { all.map(\.name) }

    /// The collector called `name`, if there is one.
    public static func named(_ name: String) -> Collector? {
        all.first { $0.name == name }
    }
}
