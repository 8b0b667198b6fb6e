import Foundation

extension Collector {
    /// Which EC2 instances the operator's monitoring system watches (OP5 Monitor, Naemon, Nagios,
    /// Icinga 2, Checkmk): hosts read over livestatus, the OP5 API or from a file. It has no index of
    /// its own: the inventory transform joins its runs into the instance and summary documents.
    public static let monitoring = Collector(
        name: MonitoringFetcher.collector,
        summary: "hosts of the monitoring systems (livestatus, OP5 API, host list) -> monitoring.* of the inventory",
        config: CollectorConfigSection(key: "monitoring", requires: [.init(section: "inventory", why: "whose EC2 instances the monitoring hosts are matched with")]) { reader, _ in
            try MonitoringSettings(reader: &reader)
        },
        isConfigured: { $0.monitoring != nil },
        fetch: { context, report in
            guard let settings = context.config.monitoring else {
                throw CloudspoolError(.configuration, "\(context.config.file): the 'monitoring' section is required to read monitoring systems")
            }
            try MonitoringFetcher(context: context, settings: settings).run(report: &report)
        },
        transform: { MonitoringTransformer(context: $0) },
        templates: { _ in [] },
        load: .none,
        awsActions: [],
        check: { MonitoringCheck.checks($0) }
    )
}

extension CloudspoolConfig {
    /// The `monitoring` section, if the config has one.
    public var monitoring: MonitoringSettings? { section("monitoring") }
}
