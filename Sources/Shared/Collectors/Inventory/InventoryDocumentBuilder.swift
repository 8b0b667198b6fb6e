import Crypto
import Foundation

/// Builds the inventory documents of one account and region: one per
/// resource (its AWS CLI JSON under `aws.<service>.<type>`, the enrichment
/// dashboards need under `inventory`), and one summary with the Overview
/// figures, which are computed from the same resources. With a monitoring
/// join, each EC2 instance and the summary also get a top-level `monitoring`
/// object (`MonitoringOutcome`).
struct InventoryDocumentBuilder {
    let data: InventoryUnitData
    let accountName: String?
    let runID: String
    let collectedAt: String
    let index: String
    /// The last events known per instance (`<account>/<region>/<id>` -> newest first), merged with this run's.
    var events: [String: [JSONValue]]
    let eventsPerInstance: Int
    /// What the monitoring systems say of the instances; nil when no monitoring is configured.
    var monitoring: MonitoringOutcome? = nil

    private(set) var output: [UInt8] = []
    private(set) var documents = 0
    /// Every resource document made, for the change feed and the current-state index.
    private(set) var resources: [InventoryResource] = []
    /// The summary document of the account and region.
    private(set) var summaryDocument: InventoryResource?
    /// The monitoring verdicts of the unit's instances.
    private(set) var monitoringCounts = MonitoringOutcome.Counts()

    mutating func append(type: String, service: String, name: String, id: String, resource: JSONValue, enrichment: [(String, JSONValue)],
                         extra: [(String, JSONValue)] = []) {
        var documentID = "\(type):\(data.account):\(data.region):\(id)"
        if documentID.utf8.count > 400 { documentID = "\(type):\(data.account):\(data.region):" + SHA256.hash(data: Data(id.utf8)).hexString }
        let action: JSONValue = .object([("index", .object([("_index", .string(index)), ("_id", .string(documentID))]))])
        action.write(to: &output)
        output.append(10)
        var account: [(String, JSONValue)] = [("id", .string(data.account))]
        if let accountName { account.append(("name", .string(accountName))) }
        let document: JSONValue = .object([
            ("@timestamp", .string(collectedAt)),
            ("cloud", .object([("provider", .string("aws")), ("account", .object(account)), ("region", .string(data.region))])),
            ("resource", .object([("type", .string(type)), ("id", .string(id))])),
            ("cloudspool", .object([("collector", .string("inventory")), ("run_id", .string(runID)), ("raw_file", .string("responses/\(data.account)/\(data.region)/")), ("last_seen", .string(collectedAt))])),
            ("aws", .object([(service, .object([(name, resource)]))])),
            ("inventory", .object(enrichment)),
        ] + extra)
        document.write(to: &output)
        output.append(10)
        documents += 1
        let made = InventoryResource(type: type, id: id, documentID: documentID, document: document, resource: resource)
        if type == "summary" { summaryDocument = made } else { resources.append(made) }
    }

    mutating func build() {
        let types = data.instanceTypes
        let images = data.images
        let snapshots = data.items("ec2", "DescribeSnapshots", "Snapshots")
        let alarms = data.items("monitoring", "DescribeAlarms", "MetricAlarms")
        let metrics = data.items("monitoring", "ListMetrics", "Metrics")
        let jobs = data.items("backup", "ListBackupJobs", "BackupJobs")
        let networkInterfaces = data.items("ec2", "DescribeNetworkInterfaces", "NetworkInterfaces")
        let dbInstances = data.items("rds", "DescribeDBInstances", "DBInstances")
        let dbSnapshots = data.items("rds", "DescribeDBSnapshots", "DBSnapshots")
        let lookups = data.lookupEvents

        func dimensionValue(_ item: JSONValue, _ name: String) -> [String] {
            (item["Dimensions"]?.arrayValue ?? []).compactMap { $0["Name"]?.stringValue == name ? $0["Value"]?.stringValue : nil }
        }
        func completedBackupTime(containing id: String) -> String? {
            jobs.filter { $0["State"]?.stringValue == "COMPLETED" && ($0["ResourceArn"]?.stringValue ?? "").hasSuffix(id) }
                .compactMap { $0["CompletionDate"]?.stringValue }.max()
        }

        var summary = Summary()
        var monitoringCounts = MonitoringOutcome.Counts()

        // EC2 instances.
        var attachedGroups: [String: [JSONValue]] = [:]
        for (instance, reservation) in data.instances {
            guard let id = instance["InstanceId"]?.stringValue else { continue }
            let state = instance.path("State", "Name")?.stringValue ?? "unknown"
            var e: [(String, JSONValue)] = [("state", .string(state))]
            if let reservationID = reservation["ReservationId"]?.stringValue { e.append(("reservation_id", .string(reservationID))) }
            if let owner = reservation["OwnerId"]?.stringValue { e.append(("owner_id", .string(owner))) }
            let type = instance["InstanceType"]?.stringValue ?? ""
            if let capacity = types[type] {
                e.append(("vcpus", .int(capacity.vcpus)))
                e.append(("memory_mib", .int(capacity.memoryMiB)))
                e.append(("capacity_known", .bool(true)))
            } else {
                e.append(("capacity_known", .bool(false)))
            }
            let groups = (instance["SecurityGroups"]?.arrayValue ?? []).compactMap { $0["GroupId"]?.stringValue }
            e.append(("security_groups", .array(groups.map { .string($0) })))
            for group in groups { attachedGroups[group, default: []].append(.object([("type", .string("ec2.instance")), ("id", .string(id))])) }
            e.append(("tags", .array(instance["Tags"]?.tagStrings ?? [])))
            let instanceAlarms = alarms.filter { dimensionValue($0, "InstanceId").contains(id) }
            e.append(("alarms", .array(instanceAlarms.map { .object([("name", $0["AlarmName"] ?? .null), ("state", $0["StateValue"] ?? .null)]) })))
            e.append(("alarm_count", .int(Int64(instanceAlarms.count))))
            let metricNames = Set(metrics.filter { dimensionValue($0, "InstanceId").contains(id) }.compactMap { $0["MetricName"]?.stringValue })
            e.append(("metrics", .array(metricNames.sorted().map { .string($0) })))
            let volumes = Set((instance["BlockDeviceMappings"]?.arrayValue ?? []).compactMap { $0.path("Ebs", "VolumeId")?.stringValue })
            e.append(("volumes", .array(volumes.sorted().map { .string($0) })))
            let ownSnapshots = snapshots.filter { volumes.contains($0["VolumeId"]?.stringValue ?? "") }
            e.append(("snapshots", .array(ownSnapshots.map { .object([("id", $0["SnapshotId"] ?? .null), ("start_time", $0["StartTime"] ?? .null), ("state", $0["State"] ?? .null)]) })))
            if let imageID = instance["ImageId"]?.stringValue, let image = images.first(where: { $0["ImageId"]?.stringValue == imageID }) {
                e.append(("image", .object([("id", .string(imageID)), ("name", image["Name"] ?? .null), ("creation_date", image["CreationDate"] ?? .null), ("owner_id", image["OwnerId"] ?? .null)])))
                e.append(("image_exists", .bool(true)))
            } else if instance["ImageId"]?.stringValue != nil, !data.failedCalls.contains("ec2 DescribeImages") {
                // The image the instance was launched from has been deregistered since.
                e.append(("image_exists", .bool(false)))
            }
            var backups: [(String, String)] = []
            if let job = completedBackupTime(containing: id) { backups.append((job, "backup_job")) }
            if let snap = ownSnapshots.filter({ $0["State"]?.stringValue == "completed" }).compactMap({ $0["StartTime"]?.stringValue }).max() { backups.append((snap, "snapshot")) }
            if let last = backups.max(by: { $0.0 < $1.0 }) {
                e.append(("last_backup_time", .string(last.0)))
                e.append(("last_backup_source", .string(last.1)))
            }
            // "No backup" and "could not ask" must not look the same.
            e.append(("backups_known", .bool(!data.failedCalls.contains("backup ListBackupJobs") && !data.failedCalls.contains("ec2 DescribeSnapshots"))))
            let key = "\(data.account)/\(data.region)/\(id)"
            let fresh = (lookups[id] ?? []).map(Self.eventSummary)
            let known = events[key] ?? []
            var seen = Set<String>()
            let merged = (fresh + known).filter { seen.insert($0["event_id"]?.stringValue ?? UUID().uuidString).inserted }
                .sorted { ($0["event_time"]?.stringValue ?? "") > ($1["event_time"]?.stringValue ?? "") }
            let kept = Array(merged.prefix(eventsPerInstance))
            events[key] = kept
            e.append(("events", .array(kept)))
            e.append(("event_count", .int(Int64(kept.count))))
            e.append(("events_known", .bool(!data.failedCalls.contains("cloudtrail LookupEvents"))))
            var extra: [(String, JSONValue)] = []
            if let monitoring {
                let (verdict, value) = monitoring.instance(key)
                monitoringCounts.add(verdict)
                extra.append(("monitoring", value))
            }
            append(type: "ec2.instance", service: "ec2", name: "instance", id: id, resource: instance, enrichment: e, extra: extra)
            summary.instance(state: state, capacity: types[type])
        }

        // RDS instances: capacity of the EC2 equivalent of their class (db.m5.large -> m5.large), never guessed.
        for db in dbInstances {
            guard let id = db["DBInstanceIdentifier"]?.stringValue else { continue }
            let state = db["DBInstanceStatus"]?.stringValue ?? "unknown"
            let dbClass = db["DBInstanceClass"]?.stringValue ?? ""
            let equivalent = dbClass.hasPrefix("db.") ? String(dbClass.dropFirst(3)) : dbClass
            var e: [(String, JSONValue)] = [("state", .string(state)), ("class", .string(dbClass)), ("ec2_equivalent", .string(equivalent))]
            let capacity = types[equivalent]
            if let capacity {
                e.append(("vcpus", .int(capacity.vcpus)))
                e.append(("memory_gib", .double(Double(capacity.memoryMiB) / 1024)))
                e.append(("capacity_known", .bool(true)))
            } else {
                e.append(("capacity_known", .bool(false)))
            }
            let groups = (db["VpcSecurityGroups"]?.arrayValue ?? []).compactMap { $0["VpcSecurityGroupId"]?.stringValue }
            e.append(("security_groups", .array(groups.map { .string($0) })))
            for group in groups { attachedGroups[group, default: []].append(.object([("type", .string("rds.db_instance")), ("id", .string(id))])) }
            var backups: [String] = []
            if let job = completedBackupTime(containing: id) { backups.append(job) }
            backups += dbSnapshots.filter { $0["DBInstanceIdentifier"]?.stringValue == id }.compactMap { $0["SnapshotCreateTime"]?.stringValue }
            if let last = backups.max() { e.append(("last_backup_time", .string(last))) }
            if let restorable = db["LatestRestorableTime"]?.stringValue { e.append(("latest_restorable_time", .string(restorable))) }
            append(type: "rds.db_instance", service: "rds", name: "db_instance", id: id, resource: db, enrichment: e)
            summary.rds(state: state, capacity: capacity)
        }

        // Network interfaces attach groups to everything else (NAT gateways, load balancers, RDS, Lambda ...).
        for eni in networkInterfaces {
            guard let eniID = eni["NetworkInterfaceId"]?.stringValue else { continue }
            let owner: JSONValue
            if let instance = eni.path("Attachment", "InstanceId")?.stringValue {
                owner = .object([("type", .string("ec2.instance")), ("id", .string(instance)), ("network_interface", .string(eniID))])
            } else {
                owner = .object([("type", .string("ec2.network_interface")), ("id", .string(eniID)),
                                 ("interface_type", eni["InterfaceType"] ?? .null), ("description", eni["Description"] ?? .null)])
            }
            for group in (eni["Groups"]?.arrayValue ?? []).compactMap({ $0["GroupId"]?.stringValue }) {
                attachedGroups[group, default: []].append(owner)
            }
            append(type: "ec2.network_interface", service: "ec2", name: "network_interface", id: eniID, resource: eni,
                   enrichment: [("groups", .array((eni["Groups"]?.arrayValue ?? []).compactMap { $0["GroupId"] }))])
        }

        for group in data.items("ec2", "DescribeSecurityGroups", "SecurityGroups") {
            guard let id = group["GroupId"]?.stringValue else { continue }
            // The same resource can be seen through an instance and its interface: count it once.
            var seen = Set<String>()
            let attached = (attachedGroups[id] ?? []).filter { seen.insert("\($0["type"]?.stringValue ?? ""):\($0["id"]?.stringValue ?? "")").inserted }
            let e: [(String, JSONValue)] = [("attached", .array(attached)), ("attached_count", .int(Int64(attached.count))),
                                            ("is_attached", .bool(!attached.isEmpty)), ("tags", .array(group["Tags"]?.tagStrings ?? []))]
            append(type: "ec2.security_group", service: "ec2", name: "security_group", id: id, resource: group, enrichment: e)
            summary.securityGroup(attached: !attached.isEmpty)
        }

        for image in images {
            guard let id = image["ImageId"]?.stringValue else { continue }
            append(type: "ec2.image", service: "ec2", name: "image", id: id, resource: image,
                   enrichment: [("owned", .bool(image["OwnerId"]?.stringValue == data.account)), ("tags", .array(image["Tags"]?.tagStrings ?? []))])
            summary.images += 1
        }
        for snapshot in snapshots {
            guard let id = snapshot["SnapshotId"]?.stringValue else { continue }
            append(type: "ec2.snapshot", service: "ec2", name: "snapshot", id: id, resource: snapshot, enrichment: [("tags", .array(snapshot["Tags"]?.tagStrings ?? []))])
            summary.snapshots += 1
        }
        for volume in data.items("ec2", "DescribeVolumes", "Volumes") {
            guard let id = volume["VolumeId"]?.stringValue else { continue }
            append(type: "ec2.volume", service: "ec2", name: "volume", id: id, resource: volume,
                   enrichment: [("attached_to", .array((volume["Attachments"]?.arrayValue ?? []).compactMap { $0["InstanceId"] }))])
            summary.volumes += 1
        }
        for (list, key, type, name, idKey) in [("DescribeInternetGateways", "InternetGateways", "ec2.internet_gateway", "internet_gateway", "InternetGatewayId"),
                                               ("DescribeNatGateways", "NatGateways", "ec2.nat_gateway", "nat_gateway", "NatGatewayId"),
                                               ("DescribeTransitGateways", "TransitGateways", "ec2.transit_gateway", "transit_gateway", "TransitGatewayId")] {
            for gateway in data.items("ec2", list, key) {
                guard let id = gateway[idKey]?.stringValue else { continue }
                append(type: type, service: "ec2", name: name, id: id, resource: gateway, enrichment: [("tags", .array(gateway["Tags"]?.tagStrings ?? []))])
                summary.gateways[name, default: 0] += 1
            }
        }
        for snapshot in dbSnapshots {
            guard let id = snapshot["DBSnapshotIdentifier"]?.stringValue else { continue }
            append(type: "rds.db_snapshot", service: "rds", name: "db_snapshot", id: id, resource: snapshot, enrichment: [])
            summary.dbSnapshots += 1
        }
        for alarm in alarms {
            guard let id = alarm["AlarmName"]?.stringValue else { continue }
            append(type: "cloudwatch.alarm", service: "cloudwatch", name: "alarm", id: id, resource: alarm,
                   enrichment: [("instances", .array(dimensionValue(alarm, "InstanceId").map { .string($0) }))])
            summary.alarms += 1
        }
        for metric in metrics {
            let id = metric.jsonText
            append(type: "cloudwatch.metric", service: "cloudwatch", name: "metric", id: id, resource: metric,
                   enrichment: [("instances", .array(dimensionValue(metric, "InstanceId").map { .string($0) }))])
            summary.metrics += 1
        }
        for job in jobs {
            guard let id = job["BackupJobId"]?.stringValue else { continue }
            append(type: "backup.job", service: "backup", name: "job", id: id, resource: job, enrichment: [])
            summary.backupJobs += 1
        }
        let failed = data.failedCalls.sorted()
        append(type: "summary", service: "cloudspool", name: "summary", id: runID, resource: .object([]), enrichment: [
            ("summary", summary.value), ("complete", .bool(failed.isEmpty)), ("failed_calls", .array(failed.map { .string($0) })),
        ], extra: monitoring.map { [("monitoring", $0.summary(monitoringCounts))] } ?? [])
        self.monitoringCounts = monitoringCounts
    }

    static func eventSummary(_ event: JSONValue) -> JSONValue {
        .object([("event_id", event["EventId"] ?? .null), ("event_name", event["EventName"] ?? .null), ("event_time", event["EventTime"] ?? .null),
                 ("event_source", event["EventSource"] ?? .null), ("username", event["Username"] ?? .null)])
    }

    /// The Overview figures of one account and region.
    struct Summary {
        var instances = 0, runningVCPUs: Int64 = 0, runningMemoryMiB: Int64 = 0, runningCapacityUnknown = 0
        var instanceStates: [String: Int] = [:]
        var rdsInstances = 0, rdsRunningVCPUs: Int64 = 0, rdsRunningMemoryGiB = 0.0, rdsCapacityUnknown = 0
        var rdsStates: [String: Int] = [:]
        var securityGroups = 0, unattachedSecurityGroups = 0
        var images = 0, snapshots = 0, volumes = 0, dbSnapshots = 0, alarms = 0, metrics = 0, backupJobs = 0
        var gateways: [String: Int] = ["internet_gateway": 0, "nat_gateway": 0, "transit_gateway": 0]

        mutating func instance(state: String, capacity: (vcpus: Int64, memoryMiB: Int64)?) {
            instances += 1
            instanceStates[state, default: 0] += 1
            guard state == "running" else { return }
            if let capacity { runningVCPUs += capacity.vcpus; runningMemoryMiB += capacity.memoryMiB } else { runningCapacityUnknown += 1 }
        }

        mutating func rds(state: String, capacity: (vcpus: Int64, memoryMiB: Int64)?) {
            rdsInstances += 1
            rdsStates[state, default: 0] += 1
            guard state == "available" else { return }
            if let capacity { rdsRunningVCPUs += capacity.vcpus; rdsRunningMemoryGiB += Double(capacity.memoryMiB) / 1024 } else { rdsCapacityUnknown += 1 }
        }

        mutating func securityGroup(attached: Bool) {
            securityGroups += 1
            if !attached { unattachedSecurityGroups += 1 }
        }

        var value: JSONValue {
            func states(_ d: [String: Int]) -> JSONValue { .object(d.keys.sorted().map { ($0, .int(Int64(d[$0]!))) }) }
            return .object([
                ("instances", .int(Int64(instances))), ("instances_by_state", states(instanceStates)),
                ("running_vcpus", .int(runningVCPUs)), ("running_memory_mib", .int(runningMemoryMiB)),
                ("running_capacity_unknown", .int(Int64(runningCapacityUnknown))),
                ("rds_instances", .int(Int64(rdsInstances))), ("rds_instances_by_state", states(rdsStates)),
                ("rds_running_vcpus", .int(rdsRunningVCPUs)), ("rds_running_memory_gib", .double(rdsRunningMemoryGiB)),
                ("rds_capacity_unknown", .int(Int64(rdsCapacityUnknown))),
                ("security_groups", .int(Int64(securityGroups))), ("security_groups_unattached", .int(Int64(unattachedSecurityGroups))),
                ("images", .int(Int64(images))), ("snapshots", .int(Int64(snapshots))), ("volumes", .int(Int64(volumes))),
                ("db_snapshots", .int(Int64(dbSnapshots))), ("alarms", .int(Int64(alarms))), ("metrics", .int(Int64(metrics))),
                ("backup_jobs", .int(Int64(backupJobs))),
                ("gateways", .object(gateways.keys.sorted().map { ($0, .int(Int64(gateways[$0]!))) })),
            ])
        }
    }
}
