import Foundation

/// A collector's section of the config file: its key, how to read it, and
/// the other sections it cannot work without.
public struct CollectorConfigSection: Sendable {
    /// The top-level key (`cloudtrail:`).
    public let key: String
    /// Sections this one needs, each with the reason given when it is missing.
    public let requires: [Requirement]
    /// Reads the section's keys into the collector's settings value.
    let read: @Sendable (inout ConfigNodeReader, ConfigReadContext) throws -> any Sendable

    /// Another section a section needs, and why (said in the error).
    public struct Requirement: Sendable {
        public let section: String
        public let why: String
    }

    init(key: String, requires: [Requirement] = [], read: @escaping @Sendable (inout ConfigNodeReader, ConfigReadContext) throws -> any Sendable) {
        self.key = key
        self.requires = requires
        self.read = read
    }
}

/// What a section reader may use besides its keys.
struct ConfigReadContext: Sendable {
    /// The file, for messages.
    let file: String
    /// Today, for defaults relative to the day (a start date a week back).
    let today: Date
}
