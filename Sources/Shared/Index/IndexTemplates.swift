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
        ]]
        properties["userIdentity"] = ["properties": [
            "sessionContext": ["properties": [
                "attributes": ["properties": ["creationDate": ["type": "date"], "mfaAuthenticated": ["type": "keyword"]]],
                "webIdFederationData": ["type": "object", "enabled": false],
            ]],
        ]]
        let template: [String: Any] = [
            "index_patterns": ["\(indexStem)-*"],
            "priority": 200,
            "_meta": ["managed_by": "cloudspool", "version": 1],
            "template": [
                "settings": ["index.mapping.total_fields.limit": 5000],
                "mappings": [
                    "date_detection": false,
                    "numeric_detection": false,
                    "dynamic_templates": [
                        ["strings_as_keywords": ["match_mapping_type": "string", "mapping": ["type": "keyword", "ignore_above": 1024]]],
                    ],
                    "properties": properties,
                ],
            ],
        ]
        // Sorted keys: the same bytes every run.
        return (try? JSONSerialization.data(withJSONObject: template, options: [.sortedKeys])) ?? Data()
    }

    /// The template of the billing revision indices (`<prefix>cloudspool-awsbilling-*`).
    ///
    /// The exact columns of a revision are mapped when load creates its index
    /// (from the manifest's types); this template is the safety net: any
    /// number is a `double` (never a `long` guessed from a first value of 0,
    /// which would truncate later decimals and break the sums), strings are
    /// keywords, and nothing is guessed from text.
    public static func billing(revisionStem: String) -> Data {
        let template: [String: Any] = [
            "index_patterns": ["\(revisionStem)-*"],
            "priority": 200,
            "_meta": ["managed_by": "cloudspool", "version": 1],
            "template": [
                "settings": ["index.mapping.total_fields.limit": 5000],
                "mappings": [
                    "date_detection": false,
                    "numeric_detection": false,
                    "dynamic_templates": [
                        ["integers_as_doubles": ["match_mapping_type": "long", "mapping": ["type": "double"]]],
                        ["decimals_as_doubles": ["match_mapping_type": "double", "mapping": ["type": "double"]]],
                        ["strings_as_keywords": ["match_mapping_type": "string", "mapping": ["type": "keyword", "ignore_above": 1024]]],
                    ],
                    "properties": [
                        "@timestamp": ["type": "date"],
                        "cloud": ["properties": ["provider": ["type": "keyword"], "account": ["properties": ["id": ["type": "keyword"]]]]],
                        "cloudspool": ["properties": ["billing_period": ["type": "keyword"], "revision": ["type": "keyword"], "report_file": ["type": "keyword"]]],
                    ],
                ],
            ],
        ]
        return (try? JSONSerialization.data(withJSONObject: template, options: [.sortedKeys])) ?? Data()
    }
}
