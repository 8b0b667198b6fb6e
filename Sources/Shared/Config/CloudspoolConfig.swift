import Foundation
import Yams

/// The whole configuration of cloudspool: one YAML file shared by all stages.
///
/// Every key is documented in `cloudspool.example.yaml`. Secrets are never
/// part of it: the index password and API key are read from files or
/// environment variables that the config names.
public struct CloudspoolConfig: Sendable {
    /// The spool root, where the stages hand off work.
    public let spool: String
    public let aws: AWSSettings
    /// The settings of each configured collector, by section key; read them
    /// through the typed accessors each collector declares (`config.cloudtrail`).
    let sections: [String: any Sendable]
    public let transform: TransformSettings
    public let index: IndexSettings?
    public let retention: RetentionSettings
    /// The file this configuration was read from, for messages.
    public let file: String

    /// The default location of the config file.
    public static let defaultPath = "/etc/cloudspool/cloudspool.yaml"

    /// The config path to use: the explicit option, then `CLOUDSPOOL_CONFIG`, then the default.
    public static func resolvePath(option: String?, environment: [String: String]) -> String {
        if let option, !option.isEmpty { return option }
        if let env = environment["CLOUDSPOOL_CONFIG"], !env.isEmpty { return env }
        return defaultPath
    }

    /// Reads and checks the file at `path`.
    public static func load(path: String, today: Date = Date()) throws -> CloudspoolConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CloudspoolError(.configuration, "cannot read config file \(path): it \(FileProblem.describe(path, error)); pass --config PATH or set CLOUDSPOOL_CONFIG")
        }
        return try parse(yaml: text, file: path, today: today)
    }

    /// Parses a configuration from YAML text; `file` names it in messages.
    public static func parse(yaml: String, file: String, today: Date = Date()) throws -> CloudspoolConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw CloudspoolError(.configuration, "\(file): not valid YAML: \(error)")
        } catch {
            throw CloudspoolError(.configuration, "\(file): not valid YAML: \(error)")
        }
        var top = try ConfigNodeReader(node: root, file: file, path: "")
        guard let spool = try top.string("spool"), !spool.isEmpty else {
            throw top.error("spool", "is required: the folder where the stages hand off work (e.g. /var/spool/cloudspool)")
        }
        var awsReader = try top.child("aws")
        let aws = try AWSSettings(reader: &awsReader)
        try awsReader.finish()

        let context = ConfigReadContext(file: file, today: today)
        var sections: [String: any Sendable] = [:]
        for collector in Collectors.all {
            guard let section = collector.config, sections[section.key] == nil else { continue }
            var reader = try top.child(section.key)
            guard top.isPresent(section.key) else { continue }
            sections[section.key] = try section.read(&reader, context)
            try reader.finish()
        }
        for collector in Collectors.all {
            guard let section = collector.config, sections[section.key] != nil else { continue }
            for requirement in section.requires where sections[requirement.section] == nil {
                throw CloudspoolError(.configuration, "\(file): the '\(section.key)' section needs the '\(requirement.section)' section, \(requirement.why)")
            }
        }

        var transformReader = try top.child("transform")
        let transform = try TransformSettings(reader: &transformReader)
        try transformReader.finish()

        var index: IndexSettings?
        if top.isPresent("index") {
            var reader = try top.child("index")
            index = try IndexSettings(reader: &reader)
            try reader.finish()
        } else {
            _ = try top.child("index")
        }

        var retentionReader = try top.child("retention")
        let retention = try RetentionSettings(reader: &retentionReader)
        try retentionReader.finish()

        try top.finish()
        return CloudspoolConfig(spool: spool, aws: aws, sections: sections, transform: transform, index: index, retention: retention, file: file)
    }

    /// The settings a collector's section was read into, if the section is there.
    func section<Settings>(_ key: String) -> Settings? {
        sections[key] as? Settings
    }

    /// The settings of a section a collector cannot work without, or an error saying what to add.
    func requireSection<Settings>(_ key: String, _ what: String) throws -> Settings {
        guard let settings: Settings = section(key) else {
            throw CloudspoolError(.configuration, "\(file): the '\(key)' section is required to \(what)")
        }
        return settings
    }

    /// The collectors this config sets up, in the order stages run them.
    public var configuredCollectors: [Collector] {
        Collectors.all.filter { $0.isConfigured(self) }
    }

    /// The index settings, or an error saying the section is needed.
    public func requireIndex() throws -> IndexSettings {
        guard let index else {
            throw CloudspoolError(.configuration, "\(file): the 'index' section is required to load documents (at least index.url)")
        }
        return index
    }
}
