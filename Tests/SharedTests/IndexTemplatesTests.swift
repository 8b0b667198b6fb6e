import Foundation
import Testing
@testable import Shared

@Suite struct IndexTemplatesTests {
    func parse(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func mapping(_ template: [String: Any], _ path: String...) -> [String: Any]? {
        var node = ((template["template"] as? [String: Any])?["mappings"] as? [String: Any])?["properties"] as? [String: Any]
        for (n, key) in path.enumerated() {
            guard let next = node?[key] as? [String: Any] else { return nil }
            if n == path.count - 1 { return next }
            node = next["properties"] as? [String: Any]
        }
        return nil
    }

    @Test func cloudTrailFreeFormPartsAreStoredNotMapped() throws {
        let t = try parse(IndexTemplates.cloudTrail(indexStem: "awscli-trail"))
        #expect(t["index_patterns"] as? [String] == ["awscli-trail-*"])
        #expect(t["priority"] as? Int == 200)
        for name in CloudTrailDocumentBuilder.freeFormMembers {
            #expect(mapping(t, name)?["enabled"] as? Bool == false, "\(name)")
        }
        #expect(mapping(t, "@timestamp")?["type"] as? String == "date")
        #expect(mapping(t, "cloudspool", "payload_text")?["type"] as? String == "text")
        let mappings = (t["template"] as? [String: Any])?["mappings"] as? [String: Any]
        #expect(mappings?["date_detection"] as? Bool == false)
        #expect(IndexTemplates.cloudTrail(indexStem: "x") == IndexTemplates.cloudTrail(indexStem: "x"))   // same bytes every run
    }

    @Test func inventoryDatesComeFromTheModelsAndRankBelowCloudTrail() throws {
        let t = try parse(IndexTemplates.inventory(indexStem: "awscli"))
        #expect(t["priority"] as? Int == 100)
        #expect(mapping(t, "aws", "ec2", "instance", "LaunchTime")?["type"] as? String == "date")
        #expect(mapping(t, "aws", "rds", "db_instance", "InstanceCreateTime")?["type"] as? String == "date")
        #expect(mapping(t, "aws", "backup", "job", "CompletionDate")?["type"] as? String == "date")
        #expect(mapping(t, "aws", "ec2", "image", "CreationDate")?["type"] as? String == "date")
        // declared, because a dashboard panel aggregates on it (never left to dynamic mapping)
        #expect(mapping(t, "aws", "ec2", "instance", "InstanceType")?["type"] as? String == "keyword")
        // not used by a panel: left to the string template
        #expect(mapping(t, "aws", "ec2", "instance", "KernelId") == nil)
        #expect(mapping(t, "inventory", "vcpus")?["type"] as? String == "long")
    }

    @Test func billingNumbersAreAlwaysDoubles() throws {
        let t = try parse(IndexTemplates.billing(revisionStem: "cloudspool-awsbilling"))
        let dynamic = ((t["template"] as? [String: Any])?["mappings"] as? [String: Any])?["dynamic_templates"] as? [[String: Any]] ?? []
        let kinds = dynamic.compactMap { ($0.values.first as? [String: Any]).map { "\($0["match_mapping_type"] ?? "")->\(($0["mapping"] as? [String: Any])?["type"] ?? "")" } }
        #expect(kinds == ["long->double", "double->double", "string->keyword"])
    }
}
