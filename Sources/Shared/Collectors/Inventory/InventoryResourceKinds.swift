/// What the change feed and the current-state index know about each kind of
/// inventory resource: which calls must have succeeded for a collection of it
/// to be complete (only a complete collection can say a resource is gone),
/// whether its changes are tracked, and which of its members change by
/// themselves and are not changes of the infrastructure.
struct InventoryResourceKind: Sendable {
    /// `ec2.instance`, as in `resource.type`.
    let type: String
    /// The calls (as the run manifest names failures: `ec2 DescribeInstances`) it is collected with.
    let calls: [String]
    /// Whether changes of it go to the change feed. Backup jobs and metric
    /// lists come and go with AWS's own time windows: they are kept current
    /// but are not changes.
    let tracked: Bool
    /// Members (leaf paths of the AWS resource) that move on their own.
    let ignored: Set<String>

    /// Every kind, documented in README "Changes".
    static let all: [InventoryResourceKind] = [
        .init(type: "ec2.instance", calls: ["ec2 DescribeInstances"], tracked: true, ignored: []),
        .init(type: "rds.db_instance", calls: ["rds DescribeDBInstances"], tracked: true, ignored: ["LatestRestorableTime"]),
        .init(type: "ec2.network_interface", calls: ["ec2 DescribeNetworkInterfaces"], tracked: true, ignored: []),
        .init(type: "ec2.security_group", calls: ["ec2 DescribeSecurityGroups"], tracked: true, ignored: []),
        .init(type: "ec2.image", calls: ["ec2 DescribeImages"], tracked: true, ignored: ["LastLaunchedTime"]),
        .init(type: "ec2.snapshot", calls: ["ec2 DescribeSnapshots"], tracked: true, ignored: ["Progress"]),
        .init(type: "ec2.volume", calls: ["ec2 DescribeVolumes"], tracked: true, ignored: []),
        .init(type: "ec2.internet_gateway", calls: ["ec2 DescribeInternetGateways"], tracked: true, ignored: []),
        .init(type: "ec2.nat_gateway", calls: ["ec2 DescribeNatGateways"], tracked: true, ignored: []),
        .init(type: "ec2.transit_gateway", calls: ["ec2 DescribeTransitGateways"], tracked: true, ignored: []),
        .init(type: "rds.db_snapshot", calls: ["rds DescribeDBSnapshots"], tracked: true, ignored: ["PercentProgress"]),
        .init(type: "cloudwatch.alarm", calls: ["cloudwatch DescribeAlarms"], tracked: true,
              ignored: ["StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp", "StateTransitionedTimestamp"]),
        .init(type: "cloudwatch.metric", calls: ["cloudwatch ListMetrics"], tracked: false, ignored: []),
        .init(type: "backup.job", calls: ["backup ListBackupJobs"], tracked: false, ignored: []),
    ]

    static let byType: [String: InventoryResourceKind] = Dictionary(uniqueKeysWithValues: all.map { ($0.type, $0) })
}
