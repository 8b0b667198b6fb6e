import Foundation
import Testing
@testable import Shared

@Suite struct ResourceFlattenerTests {
    func value(_ text: String) throws -> JSONValue { try JSONValueParser.parse(Array(text.utf8)) }

    @Test func keysListsByWhatNamesTheirItems() throws {
        let resource = try value("""
        {"InstanceId":"i-1","State":{"Name":"running","Code":16},"Tags":[{"Key":"Name","Value":"web"},{"Key":"team","Value":"a"}],
         "SecurityGroups":[{"GroupId":"sg-1","GroupName":"g1"}],"BlockDeviceMappings":[{"DeviceName":"/dev/sda1","Ebs":{"VolumeId":"vol-1"}}],
         "ProductCodes":[],"Ipv6":["b","a"],"Plain":[{"x":1},{"x":2}]}
        """)
        let leaves = ResourceFlattener.leaves(of: resource, ignoring: ["State.Code"])
        #expect(leaves == [
            "InstanceId": "i-1", "State.Name": "running", "Tags[Name]": "web", "Tags[team]": "a",
            "SecurityGroups[sg-1].GroupId": "sg-1", "SecurityGroups[sg-1].GroupName": "g1",
            "BlockDeviceMappings[/dev/sda1].DeviceName": "/dev/sda1", "BlockDeviceMappings[/dev/sda1].Ebs.VolumeId": "vol-1",
            "Ipv6": #"["a","b"]"#, "Plain[0].x": "1", "Plain[1].x": "2",
        ])
    }

    @Test func reorderedListsAreTheSame() throws {
        let a = try value(#"{"Tags":[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}],"G":[{"GroupId":"sg-1"},{"GroupId":"sg-2"}]}"#)
        let b = try value(#"{"Tags":[{"Key":"b","Value":"2"},{"Key":"a","Value":"1"}],"G":[{"GroupId":"sg-2"},{"GroupId":"sg-1"}]}"#)
        #expect(ResourceFlattener.leaves(of: a) == ResourceFlattener.leaves(of: b))
    }
}

@Suite struct ResourceEventTests {
    @Test func changingCallNamesItsResources() throws {
        let record = try JSONValueParser.parse(Array("""
        {"eventID":"e1","eventName":"CreateTags","eventTime":"2026-11-30T10:00:00Z","eventSource":"ec2.amazonaws.com",
         "awsRegion":"eu-west-1","recipientAccountId":"111111111111","userIdentity":{"arn":"arn:aws:iam::111111111111:user/alice"},
         "requestParameters":{"resourcesSet":{"items":[{"resourceId":"i-0123456789abcdef0"}]},"tagSet":{"items":[{"key":"k","value":"not-an-id"}]}},
         "responseElements":{"groupId":"sg-0123abcd"}}
        """.utf8))
        let event = try #require(ResourceEvent.compact(record, account: nil, region: nil))
        #expect(event["resources"] == .array([.string("i-0123456789abcdef0"), .string("sg-0123abcd")]))
        #expect(event["user"] == .string("arn:aws:iam::111111111111:user/alice"))
        #expect(event["account"] == .string("111111111111"))
    }

    /// The byte-level reading the transform uses finds what the parsed reading finds, escapes and all.
    @Test(arguments: [
        #"{"eventID":"e1","eventName":"RunInstances","eventTime":"2026-11-30T10:00:00Z","requestParameters":{"instancesSet":{"items":[{"imageId":"ami-0123456789abcdef0","tags":["i-0123abcd",1,true,null,{"groupName":"web"}]}]}},"responseElements":{"instancesSet":{"items":[{"instanceId":"i-0aaaaaaaaaaaaaaaa"}]}}}"#,
        #"{"eventID":"e2","requestParameters":{"resourceId":"\u0069-0123456789abcdef0","group\u004eame":"my group","x":"i-0123abc\u0064"}}"#,
        #"{"eventID":"e3","requestParameters":{"a":"sg-０１２３４５６７８","b":"vol-12345678901234567890","c":"nat-0123abcd","d":"é-0123abcd"}, "responseElements" : null}"#,
        #"{"eventID":"e4","requestParameters":{"volumeId":"v"},"requestParameters":{"volumeId":"other"},"eventID":"e5"}"#,
        #"{"eventID":"e6","resources":[{"ARN":"arn:aws:ec2:eu-west-1:1:instance/i-1"},{"accountId":"1"}],"userIdentity":{"userName":"bob"},"errorCode":"Denied"}"#,
        #"{"eventID":"e7","requestParameters":{"n":-1.5e3,"t":"plain text","list":[[["snap-0123abcd"]]],"alarmNames":["cpu high","disk"]}}"#,
        #"{"eventID":"e8","requestParameters":{"x":"no ids here","y":[1,2,3]},"responseElements":"i-0123abcd"}"#,
        #"{"requestParameters":{"instanceId":"i-0123abcd"}}"#,
        #"{"eventID":"e10","requestParameters":{"a":"tgw-attach-0123abcd","b":"-0123abcd","c":"i-","d":"","e":"i-0123ABCD","f":"I-0123abcd","g":"i-\#u{301}0123abcd","h":"i-0123abcd\#u{301}","i":"i\#u{301}-0123abcd","j":"i-0123456789abcdef01","k":"eipalloc-0123abcd"}}"#,
        #"{"eventID":"u1","requestParameters":{"instanceId":"i-1"},"userIdentity":{"arn":17,"userName":"bob","arn":"ignored"},"recipientAccountId":null,"eventName":42,"eventTime":"2026-11-30T10:00:00\u005a","errorCode":7}"#,
        #"{"eventID":"u\"2","requestParameters":{"instanceId":"i-1"},"userIdentity":{"ar\u006e":"arn:aws:iam::1:user/é\n","principalId":"p"},"awsRegion":"eu-west-1","eventSource":"ec2.amazonaws.com","errorCode":"Client.Unauthorized"}"#,
        #"{"eventID":"u3","requestParameters":{"instanceId":"i-1"},"userIdentity":"not an object","eventName":{"b":[1.50,true]}}"#,
        #"{"eventID":"u4","requestParameters":{"instanceId":"i-1"},"userIdentity":{"type":"AWSService","invokedBy":"backup.amazonaws.com"},"recipientAccountId":"222222222222"}"#,
        #"{"eventID":7,"requestParameters":{"instanceId":"i-1"}}"#,
        "{\n \"eventID\" : \"e9\" ,\n \"requestParameters\" : { \"groupId\" : \"sg-1\" , \"k\" : [ \"eni-0123abcd\" , false ] } }",
    ])
    func bytesReadAsParsed(_ text: String) throws {
        let bytes = Array(text.utf8)
        let parsed = ResourceEvent.compact(try JSONValueParser.parse(bytes), account: "1", region: "r")
        var expected: [UInt8] = []
        parsed?.write(to: &expected)
        var written: [UInt8] = Array("before ".utf8)
        let wrote = try bytes.withUnsafeBytes { raw in
            ResourceEvent.append(members: try JSONObjectScanner.members(of: raw), of: raw.bindMemory(to: UInt8.self), account: "1", region: "r",
                                 to: &written)
        }
        #expect(wrote == (parsed != nil))
        #expect(String(decoding: written, as: UTF8.self) == "before " + String(decoding: expected, as: UTF8.self))
    }

    @Test func idShapes() {
        #expect(ResourceEvent.looksLikeID("i-0123456789abcdef0"))
        #expect(ResourceEvent.looksLikeID("vol-1234abcd"))
        #expect(!ResourceEvent.looksLikeID("i-123"))
        #expect(!ResourceEvent.looksLikeID("web-server-01"))
        #expect(!ResourceEvent.looksLikeID("foo-0123456789abcdef0"))
    }

    @Test func readOnlyRecordsAreNotKept() throws {
        let builder = CloudTrailDocumentBuilder(indexStem: "awscli-trail")
        var out: [UInt8] = []
        var events: [UInt8] = []
        for readOnly in ["true", "false"] {
            let record = Array(#"{"eventID":"e-\#(readOnly)","eventTime":"2026-11-30T10:00:00Z","eventSource":"ec2.amazonaws.com","readOnly":\#(readOnly),"requestParameters":{"instanceId":"i-0123456789abcdef0"}}"#.utf8)
            try record.withUnsafeBytes { try builder.append(record: $0, fileKey: "k", account: "1", region: "r", to: &out, resourceEvents: &events) }
        }
        // a call of a service the change feed does not track is not kept either
        let s3 = Array(#"{"eventID":"e-s3","eventTime":"2026-11-30T10:00:00Z","eventSource":"s3.amazonaws.com","readOnly":false,"requestParameters":{"bucketName":"i-0123456789abcdef0"}}"#.utf8)
        try s3.withUnsafeBytes { try builder.append(record: $0, fileKey: "k", account: "1", region: "r", to: &out, resourceEvents: &events) }
        let lines = events.split(separator: 10)
        #expect(lines.count == 1)
        #expect(try JSONValueParser.parse(Array(lines[0]))["id"] == .string("e-false"))
    }
}

@Suite struct BulkItemCountTests {
    @Test(arguments: [
        (#"{"took":1,"errors":false,"items":[{"index":{"_id":"a","status":201}},{"index":{"_id":"b,\"]","status":200}}]}"#, 2),
        (#"{"took":1,"errors":false,"items":[]}"#, 0),
        (#"{"took":1,"errors":false}"#, -1),
        (#"{"took":1,"errors":false,"items":[{"index":{"_id":"a","status":201}},{"ind"#, -1),
    ])
    func countsItemsWithoutDecoding(_ body: String, _ expected: Int) {
        #expect((BulkResponse.itemCount(Data(body.utf8)) ?? -1) == expected)
    }
}
