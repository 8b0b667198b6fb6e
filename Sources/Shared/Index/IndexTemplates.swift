import Foundation

/// The composable index templates cloudspool installs before it writes, so
/// that every document is accepted and the fields dashboards use are typed.
public enum IndexTemplates {
    /// The template of the CloudTrail indices (`<prefix>awscli-trail-*`).
    ///
    /// * Dates are never guessed from strings and numbers are never guessed
    ///   from strings: a field cannot flip type between events.
    /// * Strings become `keyword` with `ignore_above: 1024`: long values are
    ///   kept in `_source` but never make an immense term.
    /// * The free-form members (`requestParameters`, `responseElements`, ...)
    ///   are stored but not mapped (`enabled: false`): they cannot conflict or
    ///   add thousands of fields; `cloudspool.payload_text` makes them searchable.
    public static func cloudTrail(indexStem: String) -> Data {
        var disabled: [String: Any] = [:]
        for name in CloudTrailDocumentBuilder.freeFormMembers {
            disabled[name] = ["type": "object", "enabled": false]
        }
        var properties: [String: Any] = disabled
        properties["@timestamp"] = ["type": "date"]
        properties["eventTime"] = ["type": "date"]
        properties["errorMessage"] = ["type": "text", "fields": ["keyword": ["type": "keyword", "ignore_above": 1024]]]
        properties["cloud"] = ["properties": [
            "provider": ["type": "keyword"],
            "region": ["type": "keyword"],
            "account": ["properties": ["id": ["type": "keyword"], "name": ["type": "keyword"]]],
        ]]
        properties["cloudspool"] = ["properties": [
            "payload_text": ["type": "text"],
            "log_file": ["type": "keyword", "ignore_above": 2048],
            "run_id": ["type": "keyword"],
            "raw_file": ["type": "keyword", "ignore_above": 2048],
        ]]
        properties["userIdentity"] = ["properties": [
            "sessionContext": ["properties": [
                "attributes": ["properties": ["creationDate": ["type": "date"], "mfaAuthenticated": ["type": "keyword"]]],
                "webIdFederationData": ["type": "object", "enabled": false],
            ]],
        ]]
        declareKeywords(["eventName", "eventSource", "errorCode", "sourceIPAddress", "userIdentity.arn", "userIdentity.type",
                         "userIdentity.userName", "awsRegion", "recipientAccountId", "eventType"], into: &properties)
        return composable(patterns: ["\(indexStem)-*"], priority: 200, settings: ["index.mapping.total_fields.limit": 5000],
                          dynamicTemplates: [stringsAsKeywords], properties: properties)
    }

    /// The template of the billing revision indices (`<prefix>cloudspool-awsbilling-*`).
    ///
    /// The exact columns of a revision are mapped when load creates its index
    /// (from the manifest's types); this template is the safety net: any
    /// number is a `double` (never a `long` guessed from a first value of 0,
    /// which would truncate later decimals and break the sums), strings are
    /// keywords, and nothing is guessed from text.
    public static func billing(revisionStem: String) -> Data {
        let properties: [String: Any] = [
            "@timestamp": ["type": "date"],
            "cloud": ["properties": ["provider": ["type": "keyword"], "account": ["properties": ["id": ["type": "keyword"]]]]],
            "cloudspool": ["properties": ["billing_period": ["type": "keyword"], "revision": ["type": "keyword"], "report_file": ["type": "keyword"],
                                          "run_id": ["type": "keyword"], "raw_file": ["type": "keyword", "ignore_above": 2048]]],
        ]
        return composable(patterns: ["\(revisionStem)-*"], priority: 200, settings: ["index.mapping.total_fields.limit": 5000],
                          dynamicTemplates: [integersAsDoubles, decimalsAsDoubles, stringsAsKeywords], properties: properties)
    }

    /// The keyword fields of the inventory documents (daily, current state, change feed) the dashboards use.
    static let inventoryKeywords = [
        "resource.type", "resource.id", "resource.name", "cloud.provider", "cloud.account.id", "cloud.account.name", "cloud.region",
        "inventory.state", "inventory.class", "inventory.reservation_id", "inventory.last_backup_source", "inventory.image.name",
        "inventory.alarms.name", "inventory.attached.id", "inventory.attached.type", "inventory.events.event_name", "inventory.instances",
        "inventory.metrics", "inventory.security_groups", "inventory.snapshots.id", "inventory.tags",
        "aws.backup.job.BackupVaultName", "aws.backup.job.ResourceType", "aws.backup.job.State",
        "aws.cloudwatch.alarm.AlarmDescription", "aws.cloudwatch.alarm.MetricName", "aws.cloudwatch.alarm.StateValue",
        "aws.cloudwatch.metric.MetricName", "aws.cloudwatch.metric.Namespace", "aws.ec2.image.ImageType", "aws.ec2.image.State",
        "aws.ec2.instance.ImageId", "aws.ec2.instance.InstanceType", "aws.ec2.instance.PrivateIpAddress", "aws.ec2.instance.PublicIpAddress",
        "aws.ec2.instance.VpcId", "aws.ec2.internet_gateway.Attachments.State", "aws.ec2.internet_gateway.Attachments.VpcId",
        "aws.ec2.nat_gateway.NatGatewayAddresses.PublicIp", "aws.ec2.nat_gateway.State", "aws.ec2.nat_gateway.SubnetId",
        "aws.ec2.nat_gateway.VpcId", "aws.ec2.security_group.GroupName", "aws.ec2.security_group.VpcId", "aws.ec2.snapshot.State",
        "aws.ec2.transit_gateway.Description", "aws.ec2.transit_gateway.OwnerId", "aws.ec2.transit_gateway.State",
        "aws.rds.db_instance.Endpoint.Address", "aws.rds.db_instance.Engine", "aws.rds.db_instance.EngineVersion",
        "aws.rds.db_instance.DBInstanceArn", "aws.rds.db_snapshot.Status",
        "monitoring.monitored", "monitoring.system", "monitoring.host_name", "monitoring.state", "monitoring.matched_by",
        "change.action", "change.paths", "change.events.id", "change.events.name", "change.events.user",
    ]

    /// The resource namespaces of the inventory documents and the shapes they come from.
    static let inventoryResources: [(service: String, name: String, model: String, shape: String)] = [
        ("ec2", "instance", "ec2", "Instance"), ("ec2", "image", "ec2", "Image"), ("ec2", "snapshot", "ec2", "Snapshot"),
        ("ec2", "volume", "ec2", "Volume"), ("ec2", "security_group", "ec2", "SecurityGroup"),
        ("ec2", "network_interface", "ec2", "NetworkInterface"), ("ec2", "internet_gateway", "ec2", "InternetGateway"),
        ("ec2", "nat_gateway", "ec2", "NatGateway"), ("ec2", "transit_gateway", "ec2", "TransitGateway"),
        ("rds", "db_instance", "rds", "DBInstance"), ("rds", "db_snapshot", "rds", "DBSnapshot"),
        ("cloudwatch", "alarm", "monitoring", "MetricAlarm"), ("cloudwatch", "metric", "monitoring", "Metric"),
        ("backup", "job", "backup", "BackupJob"),
    ]

    /// The template of the inventory indices (`<prefix>awscli-*`, below the CloudTrail template's priority):
    /// the daily indices, the current-state index (`awscli-current`) and the change feed (`awscli-changes-*`).
    ///
    /// Every member the AWS models type as a timestamp is mapped as a date
    /// (from the generated shape table), nothing else is guessed from text
    /// (tag values that look like dates stay keywords), numbers that AWS
    /// sends as decimals are doubles, and the Overview figures are typed.
    public static func inventory(indexStem: String, model: AWSShapeModel = .bundled) -> Data {
        let date: [String: Any] = ["type": "date", "ignore_malformed": true]
        func insert(_ path: [String], _ mapping: [String: Any], into properties: inout [String: Any]) {
            guard let first = path.first else { return }
            if path.count == 1 {
                properties[first] = mapping
                return
            }
            var inner = (properties[first] as? [String: Any])?["properties"] as? [String: Any] ?? [:]
            insert(Array(path.dropFirst()), mapping, into: &inner)
            properties[first] = ["properties": inner]
        }
        var properties: [String: Any] = [:]
        for resource in inventoryResources {
            for path in model.timestampPaths(service: resource.model, shape: resource.shape) {
                insert(["aws", resource.service, resource.name] + path, date, into: &properties)
            }
        }
        // Dates the EC2 model types as strings.
        insert(["aws", "ec2", "image", "CreationDate"], date, into: &properties)
        insert(["aws", "ec2", "image", "DeprecationTime"], date, into: &properties)
        for path in [["@timestamp"], ["cloudspool", "last_seen"], ["inventory", "last_backup_time"], ["inventory", "latest_restorable_time"],
                     ["inventory", "events", "event_time"], ["inventory", "image", "creation_date"], ["inventory", "snapshots", "start_time"],
                     // the change feed (<stem>-changes-YYYY.MM), which this template covers too
                     ["change", "window", "start"], ["change", "window", "end"], ["change", "events", "time"],
                     // the monitoring join (instances, summaries, monitoring hosts; last_check is declared with the dashboards' fields)
                     ["monitoring", "as_of"]] {
            insert(path, date, into: &properties)
        }
        for path in [["inventory", "vcpus"], ["inventory", "memory_mib"], ["inventory", "alarm_count"], ["inventory", "attached_count"], ["inventory", "event_count"],
                     ["change", "event_count"], ["change", "changed_count"],
                     ["monitoring", "counts", "monitored"], ["monitoring", "counts", "not_monitored"], ["monitoring", "counts", "unknown"],
                     ["monitoring", "host_count"], ["monitoring", "candidate_count"]] {
            insert(path, ["type": "long"], into: &properties)
        }
        // monitoring.monitored ("true", "false", "unknown") is a keyword, never a boolean: unknown is not false (inventoryKeywords).
        insert(["monitoring", "ambiguous"], ["type": "boolean"], into: &properties)
        insert(["inventory", "memory_gib"], ["type": "double"], into: &properties)
        insert(["inventory", "is_attached"], ["type": "boolean"], into: &properties)
        declareKeywords(inventoryKeywords, into: &properties)
        for path in ["inventory.image_exists", "inventory.backups_known", "inventory.owned", "inventory.capacity_known", "inventory.events_known", "aws.rds.db_instance.MultiAZ"] {
            declare(path, ["type": "boolean"], into: &properties)
        }
        declare("aws.ec2.transit_gateway.Options.AmazonSideAsn", ["type": "long"], into: &properties)
        declare("monitoring.last_check", date, into: &properties)
        return composable(patterns: ["\(indexStem)-*"], priority: 100, settings: ["index.mapping.total_fields.limit": 10000, "index.mapping.depth.limit": 40],
                          dynamicTemplates: [decimalsAsDoubles, stringsAsKeywords], properties: properties)
    }

    /// The template of the IAM users index: dates, booleans and day counts
    /// typed, so "who has not logged in for N days" is a range query.
    public static func users(index: String) -> Data {
        let date: [String: Any] = ["type": "date", "ignore_malformed": true]
        var report: [String: Any] = [:]
        for column in ["user_creation_time", "password_last_used", "password_last_changed", "password_next_rotation",
                       "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_2_last_rotated", "access_key_2_last_used_date",
                       "cert_1_last_rotated", "cert_2_last_rotated"] { report[column] = date }
        for column in ["password_enabled", "mfa_active", "access_key_1_active", "access_key_2_active", "cert_1_active", "cert_2_active"] {
            report[column] = ["type": "boolean"]
        }
        var activity: [String: Any] = ["last_activity": date, "never_used": ["type": "boolean"], "inactive": ["type": "boolean"]]
        for field in ["days_since_last_activity", "days_since_console_password_used", "days_since_access_key_1_used",
                      "days_since_access_key_2_used", "days_since_creation", "inactive_after_days"] { activity[field] = ["type": "long"] }
        var properties: [String: Any] = [
            "@timestamp": ["type": "date"],
            "user": ["properties": ["creation_time": date, "is_root": ["type": "boolean"], "PasswordLastUsed": date]],
            "activity": ["properties": activity],
            "credential_report": ["properties": report],
            "cloudspool": ["properties": ["as_of": date]],
        ]
        declareKeywords(["user.name", "user.groups", "login_methods", "activity.last_activity_method", "cloud.account.id", "cloud.account.name"],
                        into: &properties)
        return composable(patterns: [index], priority: 200, settings: [:],
                          dynamicTemplates: [stringsAsKeywords], properties: properties)
    }

    /// The template of the S3 object search indices: keys for exact match
    /// (`s3.key`, also `wildcard` queries) and fragment match (`s3.key_parts`,
    /// the key's lower-cased pieces), sizes as longs, dates as dates. Above the
    /// inventory template, whose pattern also covers these indices.
    public static func s3(indexPattern: String) -> Data {
        var properties: [String: Any] = [
            "@timestamp": ["type": "date"],
            "s3": ["properties": [
                "bucket": ["type": "keyword"],
                "key": ["type": "keyword", "ignore_above": 2048],
                "key_parts": ["type": "keyword"],
                "size": ["type": "long"], "object_count": ["type": "long"], "total_size": ["type": "long"],
                "last_modified": ["type": "date"],
                "storage_class": ["type": "keyword"], "etag": ["type": "keyword"],
            ]],
            "cloudspool": ["properties": ["last_seen": ["type": "date"]]],
        ]
        declareKeywords(["cloud.account.id", "cloud.region", "resource.type", "resource.id"], into: &properties)
        return composable(patterns: [indexPattern], priority: 150, settings: [:],
                          dynamicTemplates: [stringsAsKeywords], properties: properties)
    }

    /// The template of the audit indices (`<prefix>cloudspool-audit-*`): the
    /// results of CloudTrail digest validation, one document per digest and
    /// per log file, with `audit.status` and `audit.check` as keywords to count by.
    public static func audit(indexPattern: String) -> Data {
        let date: [String: Any] = ["type": "date"]
        let properties: [String: Any] = [
            "@timestamp": date,
            "cloud": ["properties": ["provider": ["type": "keyword"], "region": ["type": "keyword"], "account": ["properties": ["id": ["type": "keyword"]]]]],
            "audit": ["properties": [
                "check": ["type": "keyword"], "status": ["type": "keyword"], "reason": ["type": "text"],
                "s3_bucket": ["type": "keyword"], "s3_key": ["type": "keyword", "ignore_above": 2048],
                "run": ["type": "keyword"], "file": ["type": "keyword", "ignore_above": 2048],
                "digest": ["properties": ["key": ["type": "keyword", "ignore_above": 2048], "start": date, "end": date, "log_files": ["type": "long"],
                                          "chain": ["type": "keyword"], "fingerprint": ["type": "keyword"]]],
            ] as [String: Any]],
            "cloudspool": ["properties": ["collector": ["type": "keyword"], "run_id": ["type": "keyword"], "raw_file": ["type": "keyword", "ignore_above": 2048]]],
        ]
        return composable(patterns: [indexPattern], priority: 200, settings: [:], dynamicTemplates: [stringsAsKeywords], properties: properties)
    }

    /// A keyword as the dashboards aggregate and filter on it (long values kept in `_source`, not indexed).
    static var keyword: [String: Any] { ["type": "keyword", "ignore_above": 1024] }

    /// Puts `mapping` at the dotted `path` of a template's properties, keeping what is already declared beside it.
    static func declare(_ path: String, _ mapping: [String: Any], into properties: inout [String: Any]) {
        let parts = path.split(separator: ".").map(String.init)
        func insert(_ parts: ArraySlice<String>, into properties: inout [String: Any]) {
            guard let first = parts.first else { return }
            if parts.count == 1 {
                properties[first] = mapping
                return
            }
            var inner = (properties[first] as? [String: Any])?["properties"] as? [String: Any] ?? [:]
            insert(parts.dropFirst(), into: &inner)
            properties[first] = ["properties": inner]
        }
        insert(parts[...], into: &properties)
    }

    /// The fields every dashboard panel aggregates or filters on, declared (never left to dynamic mapping):
    /// see dashboards/fields.json and Tests/integration/test_dashboards.py.
    static func declareKeywords(_ paths: [String], into properties: inout [String: Any]) {
        for path in paths { declare(path, keyword, into: &properties) }
    }

    /// A composable index template: never guess dates or numbers from text,
    /// the given dynamic templates, the given fields, marked as cloudspool's.
    /// Sorted keys: the same bytes every run.
    static func composable(patterns: [String], priority: Int, settings: [String: Any], dynamicTemplates: [[String: Any]],
                           properties: [String: Any]) -> Data {
        var template: [String: Any] = [
            "mappings": [
                "date_detection": false,
                "numeric_detection": false,
                "dynamic_templates": dynamicTemplates,
                "properties": properties,
            ] as [String: Any],
        ]
        if !settings.isEmpty { template["settings"] = settings }
        let body: [String: Any] = [
            "index_patterns": patterns,
            "priority": priority,
            "_meta": ["managed_by": "cloudspool", "version": 1] as [String: Any],
            "template": template,
        ]
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
    }

    /// Strings become keywords; long values are kept in `_source` but never make an immense term.
    static var stringsAsKeywords: [String: Any] {
        ["strings_as_keywords": ["match_mapping_type": "string", "mapping": ["type": "keyword", "ignore_above": 1024]] as [String: Any]]
    }

    /// JSON decimals as `double` (the default would be `float`, which loses cents).
    static var decimalsAsDoubles: [String: Any] {
        ["decimals_as_doubles": ["match_mapping_type": "double", "mapping": ["type": "double"]] as [String: Any]]
    }

    /// JSON integers as `double` where a column holds amounts (a first 0 must not make it `long`).
    static var integersAsDoubles: [String: Any] {
        ["integers_as_doubles": ["match_mapping_type": "long", "mapping": ["type": "double"]] as [String: Any]]
    }
}
