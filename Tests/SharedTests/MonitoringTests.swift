import Foundation
import Testing
@testable import Shared

/// The raw livestatus bytes a real Icinga 2 sent (Tests/integration/monitoring_fixtures/, docs/livestatus-notes.md).
let monitoringFixtures = fixturesURL.deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("integration/monitoring_fixtures")

/// The columns the fixtures were captured with (icinga_peer.HOST_COLUMNS).
let fixtureColumns = ["name", "alias", "display_name", "address", "address6", "state", "has_been_checked", "last_check",
                      "custom_variable_names", "custom_variable_values", "custom_variables", "groups"]

func fixtureBytes(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: monitoringFixtures.appendingPathComponent(name)))
}

/// Feeds `bytes` to a `LivestatusAnswer` in chunks of `chunk` bytes; the body and the header, or the error.
func readAnswer(_ bytes: [UInt8], chunk: Int = 7) throws -> (LivestatusAnswer.Header, [UInt8], LivestatusAnswer) {
    var answer = LivestatusAnswer()
    var body: [UInt8] = []
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + chunk, bytes.count)
        try bytes[offset..<end].withUnsafeBytes { try answer.feed($0) { _, part in body.append(contentsOf: part) } }
        offset = end
    }
    return (try answer.finish(), body, answer)
}

/// The elements of a JSON array, split in chunks of `chunk` bytes.
func splitArray(_ text: String, chunk: Int = 1) throws -> [String] {
    var splitter = JSONArrayStreamSplitter()
    var out: [String] = []
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + chunk, bytes.count)
        try splitter.feed(Array(bytes[offset..<end])) { out.append(String(decoding: $0, as: UTF8.self)) }
        offset = end
    }
    try splitter.finish()
    return out
}

@Suite struct LivestatusAnswerTests {
    @Test func headerLayout() {
        #expect(LivestatusAnswer.parseHeader(Array("200        1236\n".utf8)) == .init(status: 200, length: 1236))
        #expect(LivestatusAnswer.parseHeader(Array("452 000000002000\n".utf8)) == nil)      // no space after the status: not fixed16
        #expect(LivestatusAnswer.parseHeader(Array("404          37\n".utf8)) == .init(status: 404, length: 37))
        #expect(LivestatusAnswer.parseHeader(Array("200            \n".utf8)) == nil)
        #expect(LivestatusAnswer.parseHeader(Array("HTTP/1.0 200 OK\n".utf8)) == nil)
        #expect(LivestatusAnswer.parseHeader(Array("200        1236 ".utf8)) == nil)
        #expect(LivestatusAnswer.parseHeader(Array("20         1236\n".utf8)) == nil)
    }

    @Test(arguments: [1, 7, 16, 17, 4096])
    func wholeIcingaAnswerInAnyChunking(chunk: Int) throws {
        let raw = try fixtureBytes("hosts.fixed16.json.response")
        let (header, body, _) = try readAnswer(raw, chunk: chunk)
        #expect(header == .init(status: 200, length: 1236))
        #expect(body == Array(raw[16...]))
    }

    @Test func errorAnswerGivesItsFirstLine() throws {
        let (header, _, answer) = try readAnswer(try fixtureBytes("error.unknown-column.fixed16.response"))
        #expect(header.status == 452)
        #expect(answer.errorText == "Error: Column 'no_such_column' does not exist in table 'hosts'.")
        let (notFound, _, other) = try readAnswer(try fixtureBytes("error.unknown-table.fixed16.response"))
        #expect(notFound == .init(status: 404, length: 37))
        #expect(other.errorText == "Table 'no_such_table' does not exist.")
    }

    @Test func silenceIsAnErrorNotNoHosts() throws {
        #expect(try fixtureBytes("error.bad-verb.fixed16.response").isEmpty)
        let error = #expect(throws: CloudspoolError.self) { try readAnswer([]) }
        #expect(error?.message.hasPrefix("the server closed the connection without an answer") == true)
    }

    @Test func truncatedAnswers() throws {
        let raw = try fixtureBytes("hosts.fixed16.json.response")
        let cut = #expect(throws: CloudspoolError.self) { try readAnswer(Array(raw.prefix(700))) }
        #expect(cut?.message == "the answer is truncated: its header announced 1236 bytes, 684 came before the connection closed")
        let short = #expect(throws: CloudspoolError.self) { try readAnswer(Array(raw.prefix(9))) }
        #expect(short?.message == "the answer is truncated: 9 bytes, not even the 16-byte header")
    }

    @Test func moreThanAnnouncedOrNoHeader() throws {
        // two answers on one connection (KeepAlive): the second is more than the first header announced
        let extra = #expect(throws: CloudspoolError.self) { try readAnswer(try fixtureBytes("keepalive.two-queries.fixed16.json.response")) }
        #expect(extra?.message == "the answer is longer than the 109 bytes its header announced")
        let body = try fixtureBytes("hosts.noheader.json.response")
        let none = #expect(throws: CloudspoolError.self) { try readAnswer(body) }
        #expect(none?.message == "the answer does not start with a livestatus fixed16 header (it starts with '[[\"odd-values\",\"'): is this a livestatus socket?")
    }
}

@Suite struct MonitoringHostTests {
    let ids: Set<String> = ["ec2_instance_id"]

    func hosts(_ fixture: String) throws -> [String: MonitoringHost] {
        let (_, body, _) = try readAnswer(try fixtureBytes(fixture))
        var out: [String: MonitoringHost] = [:]
        var splitter = JSONArrayStreamSplitter()
        try splitter.feed(body) { element in
            let host = try MonitoringHost.livestatusRow(try JSONValueParser.parse(Array(element)), idVariables: ids, columns: fixtureColumns)
            out[host.name] = host
        }
        try splitter.finish()
        return out
    }

    @Test func icingaRowsWithCustomVariablePairs() throws {
        let got = try hosts("hosts.fixed16.json.response")
        #expect(got.count == 5)
        #expect(got["web-1"] == MonitoringHost(name: "web-1", alias: "Web server 1", displayName: "Web server 1", address: "10.0.1.10", state: 0,
                                               hasBeenChecked: true, lastCheck: got["web-1"]?.lastCheck, instanceIDs: ["i-0a1b2c3d4e5f60718"],
                                               groups: ["linux", "web"]))
        #expect(got["web-1"]?.stateName == "UP")
        #expect(got["db-old"]?.instanceIDs == ["i-00000000000000000"])      // vars["EC2_Instance_ID"]: case ignored
        #expect(got["db-old"]?.stateName == "DOWN")
        #expect(got["odd-values"]?.instanceIDs == ["i-0badc0ffee0000001"])  // vars["_ec2_instance_id"]: one leading _ dropped
        #expect(got["odd-values"]?.alias == "Bjørn ✓ \"quoted\" back\\slash\ttab")
        #expect(got["ip-10-0-2-12.eu-west-1.compute.internal"]?.address == "10.0.2.12")
        #expect((got["web-1"]?.lastCheck ?? 0) > 1_700_000_000)
    }

    @Test func neverCheckedHostsArePendingNotDown() throws {
        for host in try hosts("hosts.unchecked.fixed16.json.response").values {
            #expect(host.state == 1)
            #expect(host.stateName == "PENDING")
            #expect(host.lastCheckDate == nil)
        }
    }

    @Test func naemonAndOP5CustomVariablesAreAnUpperCaseObject() throws {
        let row = try JSONValueParser.parse(Array(#"["web-1","Web","Web","10.0.0.1",0,0,0,{"EC2_INSTANCE_ID":"i-1","PORT":"80"},["linux"]]"#.utf8))
        let host = try MonitoringHost.livestatusRow(row, idVariables: ids)
        #expect(host.instanceIDs == ["i-1"])
        #expect(host.stateName == "PENDING")       // naemon: never checked is state 0, has_been_checked 0, last_check 0
        let op5 = try JSONValueParser.parse(Array(#"{"name":"db","address":"10.0.0.2","state":2,"has_been_checked":1,"last_check":1700000000,"custom_variables":{"EC2_INSTANCE_ID":"i-2"},"groups":[]}"#.utf8))
        let other = try MonitoringHost.op5Row(op5, idVariables: ids)
        #expect(other == MonitoringHost(name: "db", address: "10.0.0.2", state: 2, hasBeenChecked: true, lastCheck: 1_700_000_000, instanceIDs: ["i-2"]))
        #expect(other.stateName == "UNREACHABLE")
        #expect(other.lastCheckDate == Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func badRows() {
        #expect(throws: CloudspoolError.self) { try MonitoringHost.livestatusRow(.array([.string("only-a-name")]), idVariables: ids) }
        #expect(throws: CloudspoolError.self) { try MonitoringHost.op5Row(.object([("name", .string(""))]), idVariables: ids) }
        #expect(throws: CloudspoolError.self) { try MonitoringHost.op5Row(.array([]), idVariables: ids) }
    }

    @Test func hostListLines() {
        #expect(MonitoringHost.listLine("  web-1.example.com \r") == MonitoringHost(name: "web-1.example.com", address: "web-1.example.com"))
        #expect(MonitoringHost.listLine("10.0.0.5 # the db") == MonitoringHost(name: "10.0.0.5", address: "10.0.0.5"))
        #expect(MonitoringHost.listLine("# comment") == nil)
        #expect(MonitoringHost.listLine("   ") == nil)
    }
}

@Suite struct JSONArrayStreamSplitterTests {
    @Test(arguments: [1, 3, 1000])
    func elementsOfAnyKind(chunk: Int) throws {
        let text = #" [ ["a,]b", 1, {"x": "}\""}], {"k": [1, [2]]} , "s\\\"]" ,42,null ]  "#
        #expect(try splitArray(text, chunk: chunk) == [#"["a,]b", 1, {"x": "}\""}]"#, #"{"k": [1, [2]]}"#, #""s\\\"]""#, "42", "null"])
        #expect(try splitArray("[]") == [])
        #expect(try splitArray("[\n]\n") == [])
    }

    @Test(arguments: [
        ("{\"a\": 1}", "not a JSON array: it does not start with '[' at byte 0"),
        ("[1, 2", "not a JSON array: the data ends before the array is closed (1 elements read; truncated?)"),
        ("[1, 2] 3", "not a JSON array: data after the closing ']' at byte 7"),
        ("[1, , 2]", "not a JSON array: ',' where an element should be at byte 4"),
        ("[1, 2, ]", "not a JSON array: ']' after ',' at byte 7"),
        ("[1}", "not a JSON array: unbalanced '}' at byte 2"),
        ("[[\"a\", 1}]", "not a JSON array: '}' closes a '[' at byte 8"),
    ])
    func structureErrors(text: String, message: String) {
        let error = #expect(throws: CloudspoolError.self) { try splitArray(text) }
        #expect(error?.message == message)
    }

    @Test func anElementTooLongIsRefused() {
        var splitter = JSONArrayStreamSplitter(maxElementBytes: 10)
        let error = #expect(throws: CloudspoolError.self) { try splitter.feed(Array(#"["0123456789abcdef"#.utf8)) { _ in } }
        #expect(error?.message.hasPrefix("not a JSON array: an element longer than 10 bytes") == true)
    }
}

@Suite struct MonitoringMatcherTests {
    static func instance(_ n: Int, name: String? = nil, state: String = "running") throws -> JSONValue {
        try JSONValueParser.parse(Array("""
        {"InstanceId":"i-00000000000000\(n)a","State":{"Name":"\(state)"},"PrivateIpAddress":"10.0.0.\(n)",
         "PrivateDnsName":"ip-10-0-0-\(n).eu-west-1.compute.internal","PublicIpAddress":"203.0.113.\(n)",
         "PublicDnsName":"ec2-203-0-113-\(n).eu-west-1.compute.amazonaws.com",
         "NetworkInterfaces":[{"PrivateIpAddresses":[{"PrivateIpAddress":"10.0.0.\(n)"},{"PrivateIpAddress":"10.0.1.\(n)","Association":{"PublicIp":"198.51.100.\(n)"}}]}],
         "Tags":[{"Key":"Name","Value":"\(name ?? "App-\(n)")"}]}
        """.utf8))
    }

    func matcher(_ rules: [MonitoringMatchRule] = MonitoringMatchRule.allCases, extra: [MonitoringInstance] = []) throws -> MonitoringMatcher {
        var instances = try (1...8).map { try #require(MonitoringInstance(instance: try Self.instance($0), account: "111111111111", region: "eu-west-1")) }
        instances.append(try #require(MonitoringInstance(instance: try Self.instance(9, name: "app-1"), account: "222222222222", region: "eu-west-1")))
        instances.append(try #require(MonitoringInstance(instance: try Self.instance(7, state: "terminated"), account: "333333333333", region: "us-east-1")))
        return MonitoringMatcher(instances: instances + extra, rules: rules)
    }

    func matched(_ m: MonitoringMatcher, _ host: MonitoringHost) -> String {
        guard let found = m.match(host) else { return "none" }
        return found.rule.rawValue + " " + found.instances.map { "\(m.instances[$0].account.prefix(1)):\(m.instances[$0].id.suffix(2))" }.joined(separator: ",")
    }

    @Test func instanceFromTheAWSCLIJSON() throws {
        let i = try #require(MonitoringInstance(instance: try Self.instance(3), account: "111111111111", region: "eu-west-1"))
        #expect(i == MonitoringInstance(account: "111111111111", region: "eu-west-1", id: "i-000000000000003a", nameTag: "App-3",
                                        privateIPs: ["10.0.0.3", "10.0.1.3"], publicIPs: ["203.0.113.3", "198.51.100.3"],
                                        privateDNS: "ip-10-0-0-3.eu-west-1.compute.internal", publicDNS: "ec2-203-0-113-3.eu-west-1.compute.amazonaws.com"))
        let gone = try #require(MonitoringInstance(instance: try Self.instance(3, state: "terminated"), account: "1", region: "r"))
        #expect(gone.privateIPs.isEmpty && gone.publicIPs.isEmpty && gone.privateDNS == nil && gone.nameTag == "App-3")
    }

    @Test func everyRule() throws {
        let m = try matcher()
        #expect(matched(m, MonitoringHost(name: "web", address: "192.0.2.1", instanceIDs: ["I-000000000000001A"])) == "custom_variable 1:1a")
        #expect(matched(m, MonitoringHost(name: "i-000000000000002a")) == "instance_id 1:2a")
        #expect(matched(m, MonitoringHost(name: "by-alias", alias: "i-000000000000003a")) == "instance_id 1:3a")
        #expect(matched(m, MonitoringHost(name: "by-ip", address: "10.0.0.4")) == "private_ip 1:4a")
        #expect(matched(m, MonitoringHost(name: "10.0.1.4")) == "private_ip 1:4a")              // a secondary address, as the host name
        #expect(matched(m, MonitoringHost(name: "by-public", address: "203.0.113.5")) == "public_ip 1:5a")
        #expect(matched(m, MonitoringHost(name: "eip", address: "198.51.100.5")) == "public_ip 1:5a")
        #expect(matched(m, MonitoringHost(name: "IP-10-0-0-6.EU-WEST-1.compute.internal.", address: "192.0.2.6")) == "private_dns 1:6a")
        #expect(matched(m, MonitoringHost(name: "pub", address: "ec2-203-0-113-8.eu-west-1.compute.amazonaws.com")) == "public_dns 1:8a")
        #expect(matched(m, MonitoringHost(name: "aPP-2")) == "name_tag 1:2a")
        #expect(matched(m, MonitoringHost(name: "printer", address: "192.0.2.99")) == "none")
        #expect(matched(m, MonitoringHost(name: "legacy", instanceIDs: ["i-00000000000000ff"])) == "none")
    }

    @Test func theFirstRuleThatFindsAnInstanceDecides() throws {
        let m = try matcher()
        // its custom variable names instance 1; its address is instance 2's: it is instance 1 only
        #expect(matched(m, MonitoringHost(name: "shared", address: "10.0.0.2", instanceIDs: ["i-000000000000001a"])) == "custom_variable 1:1a")
        // a custom variable naming no instance falls through to the next rules
        #expect(matched(m, MonitoringHost(name: "old", address: "10.0.0.2", instanceIDs: ["i-00000000000000ff"])) == "private_ip 1:2a")
        // the configured order, not the default one
        let reordered = try matcher([.privateIP, .customVariable])
        #expect(matched(reordered, MonitoringHost(name: "shared", address: "10.0.0.2", instanceIDs: ["i-000000000000001a"])) == "private_ip 1:2a")
        // a rule left out is never used
        #expect(matched(reordered, MonitoringHost(name: "i-000000000000002a")) == "none")
    }

    @Test func oneHostSeveralInstances() throws {
        let m = try matcher()
        // the Name tag "app-1" twice (App-1 in one account, app-1 in another)
        #expect(matched(m, MonitoringHost(name: "APP-1")) == "name_tag 1:1a,2:9a")
    }

    @Test func aTerminatedInstanceGaveItsAddressesBack() throws {
        let m = try matcher()
        #expect(matched(m, MonitoringHost(name: "x", address: "10.0.0.7")) == "private_ip 1:7a")   // not also 3:7a
        #expect(matched(m, MonitoringHost(name: "i-000000000000007a")) == "instance_id 1:7a,3:7a")
    }
}

@Suite struct MonitoringOutcomeTests {
    let host = MonitoringHost(name: "web-1", alias: "Web 1", address: "10.0.0.1", state: 1, hasBeenChecked: true, lastCheck: 1_796_000_000, groups: ["linux"])

    func match(_ rule: MonitoringMatchRule, rank: Int, source: String = "icinga", host: MonitoringHost? = nil, count: Int = 1) -> MonitoringOutcome.Match {
        .init(source: source, sourceType: "livestatus", sourceRank: source == "icinga" ? 0 : 1, host: host ?? self.host, rule: rule, ruleRank: rank, instanceCount: count)
    }

    @Test func monitoredInstanceTakesItsBestMatch() {
        let other = MonitoringHost(name: "vip", address: "10.0.0.1")
        let outcome = MonitoringOutcome(asOf: "2026-11-30T10:00:00Z", sources: ["icinga", "op5"], unreadable: [:],
                                        matches: ["1/r/i-1": [match(.privateIP, rank: 2, host: other, count: 2), match(.customVariable, rank: 0, source: "op5")]])
        let (verdict, value) = outcome.instance("1/r/i-1")
        #expect(verdict == .yes)
        #expect(value.jsonText == #"{"monitored":"true","system":"op5","source_type":"livestatus","host_name":"web-1","host_alias":"Web 1","address":"10.0.0.1","state":"DOWN","last_check":"2026-11-30T00:53:20Z","groups":["linux"],"matched_by":"custom_variable","host_count":2,"ambiguous":false,"as_of":"2026-11-30T10:00:00Z"}"#)
    }

    @Test func notMonitoredOnlyWhenEverySourceWasRead() {
        let read = MonitoringOutcome(asOf: "2026-11-30T10:00:00Z", sources: ["icinga"], unreadable: [:], matches: [:])
        #expect(read.instance("1/r/i-2").1.jsonText == #"{"monitored":"false","system":"icinga","host_count":0,"as_of":"2026-11-30T10:00:00Z"}"#)
        let down = MonitoringOutcome(asOf: "2026-11-30T10:00:00Z", sources: ["icinga", "op5"], unreadable: ["op5": "HTTP 401"],
                                     matches: ["1/r/i-1": [match(.privateIP, rank: 2)]])
        #expect(down.instance("1/r/i-1").0 == .yes)
        #expect(down.instance("1/r/i-2").1.jsonText == #"{"monitored":"unknown","system":["icinga","op5"],"reason":"op5: HTTP 401","as_of":"2026-11-30T10:00:00Z"}"#)
        let none = MonitoringOutcome.unknown(sources: ["icinga"], reason: "no monitoring run")
        #expect(none.instance("1/r/i-1").1.jsonText == #"{"monitored":"unknown","system":"icinga","reason":"icinga: no monitoring run"}"#)
    }

    @Test func summaryCounts() {
        let outcome = MonitoringOutcome(asOf: "2026-11-30T10:00:00Z", sources: ["icinga"], unreadable: [:], matches: [:])
        var counts = MonitoringOutcome.Counts()
        for verdict in [MonitoringOutcome.Monitored.yes, .yes, .no] { counts.add(verdict) }
        #expect(outcome.summary(counts).jsonText == #"{"monitored":"false","system":"icinga","counts":{"monitored":2,"not_monitored":1,"unknown":0},"as_of":"2026-11-30T10:00:00Z"}"#)
        #expect(outcome.summary(.init(monitored: 3))["monitored"] == .string("true"))
        #expect(outcome.summary(.init(monitored: 3, notMonitored: 1, unknown: 1))["monitored"] == .string("unknown"))
    }
}

@Suite struct MonitoringSettingsTests {
    let today = UTCDate.parseDay("2026-11-28")!
    let base = "spool: /s\ninventory: {accounts: ['111111111111'], regions: [eu-west-1]}\n"

    @Test func defaultsAndAllSourceTypes() throws {
        let config = try CloudspoolConfig.parse(yaml: base + """
        monitoring:
          sources:
            - {name: icinga, type: livestatus, address: "127.0.0.1:6558"}
            - {name: naemon-local, type: livestatus, address: /var/cache/naemon/live}
            - {name: op5, type: op5, url: "https://op5.example/", username: "cloudspool$LDAP", password_file: /etc/cloudspool/op5-password}
            - {name: cmdb, type: file, path: /etc/cloudspool/hosts.txt, timeout_seconds: 5}
        """, file: "c.yaml", today: today)
        let m = try #require(config.monitoring)
        #expect(m.sources.map(\.name) == ["icinga", "naemon-local", "op5", "cmdb"])
        #expect(m.sources[0].address == .tcp(host: "127.0.0.1", port: 6558))
        #expect(m.sources[1].address == .unix(path: "/var/cache/naemon/live"))
        #expect(m.sources[2].url == "https://op5.example")
        #expect(m.sources[2].pageSize == 10_000 && m.sources[2].tlsVerify)
        #expect(m.sources[3].timeoutSeconds == 5 && m.sources[0].timeoutSeconds == 60)
        #expect(m.match == [.customVariable, .instanceID, .privateIP, .publicIP, .privateDNS, .publicDNS, .nameTag])
        #expect(m.instanceIdVariables == ["EC2_INSTANCE_ID", "ec2_instance_id"])
        #expect(m.maxAgeMinutes == 60 && m.reportUnmatchedHosts)
        #expect(config.configuredCollectors.map(\.name).contains("monitoring"))
    }

    @Test func addresses() throws {
        #expect(try LivestatusAddress("[::1]:6557") == .tcp(host: "::1", port: 6557))
        #expect(try LivestatusAddress("monitor.example:6557").description == "monitor.example:6557")
        #expect(LivestatusAddress.tcp(host: "::1", port: 1).description == "[::1]:1")
        for bad in ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":6557", "::1:6557", "/" + String(repeating: "x", count: 120)] {
            #expect(throws: CloudspoolError.self, "\(bad)") { try LivestatusAddress(bad) }
        }
    }

    @Test(arguments: [
        ("monitoring: {}\n", "c.yaml: key 'monitoring.sources' is required: a list of monitoring systems"),
        ("monitoring: {sources: [{type: livestatus, address: 'h:1'}]}\n", "c.yaml: key 'monitoring.sources[0].name' is required"),
        ("monitoring: {sources: [{name: a, type: nagios}]}\n", "c.yaml: key 'monitoring.sources[0].type' must be one of livestatus, op5, file, not 'nagios'"),
        ("monitoring: {sources: [{name: a, type: livestatus}]}\n", "c.yaml: key 'monitoring.sources[0].address' is required for a livestatus source"),
        ("monitoring: {sources: [{name: a, type: livestatus, address: 'h'}]}\n", "c.yaml: key 'monitoring.sources[0].address' must be host:port"),
        ("monitoring: {sources: [{name: a, type: livestatus, address: 'h:1', path: /x}]}\n", "c.yaml: key 'monitoring.sources[0].path' is not used by a source of type livestatus"),
        ("monitoring: {sources: [{name: a, type: op5, url: 'https://x', username: u}]}\n", "c.yaml: key 'monitoring.sources[0].password_file' or password_env is required for an op5 source"),
        ("monitoring: {sources: [{name: a, type: op5, url: 'https://x?a=1', username: u, password_file: /p}]}\n", "c.yaml: key 'monitoring.sources[0].url' must be the server's address without a query"),
        ("monitoring: {sources: [{name: a, type: file}]}\n", "c.yaml: key 'monitoring.sources[0].path' is required for a file source"),
        ("monitoring: {sources: [{name: a/b, type: file, path: /x}]}\n", "c.yaml: key 'monitoring.sources[0].name' must be letters, digits"),
        ("monitoring: {sources: [{name: a, type: file, path: /x}, {name: a, type: file, path: /y}]}\n", "c.yaml: key 'monitoring.sources[1].name' 'a' is given to two sources"),
        ("monitoring: {sources: [{name: a, type: file, path: /x, colour: red}]}\n", "c.yaml: unknown key 'monitoring.sources[0].colour'"),
        ("monitoring: {sources: [{name: a, type: file, path: /x}], match: [private_ip, mac]}\n", "c.yaml: key 'monitoring.match' must list rules among custom_variable, instance_id"),
        ("monitoring: {sources: [{name: a, type: file, path: /x}], match: [private_ip, private_ip]}\n", "c.yaml: key 'monitoring.match' lists 'private_ip' twice"),
        ("monitoring: {sources: {name: a}}\n", "c.yaml: key 'monitoring.sources' must be a list of mappings"),
    ])
    func errorsNameTheKey(yaml: String, message: String) {
        let error = #expect(throws: CloudspoolError.self) { try CloudspoolConfig.parse(yaml: base + yaml, file: "c.yaml", today: today) }
        #expect(error?.message.hasPrefix(message) == true, "got: \(error?.message ?? "")")
    }

    @Test func monitoringNeedsTheInventory() {
        let error = #expect(throws: CloudspoolError.self) {
            try CloudspoolConfig.parse(yaml: "spool: /s\nmonitoring: {sources: [{name: a, type: file, path: /x}]}\n", file: "c.yaml", today: today)
        }
        #expect(error?.message == "c.yaml: the 'monitoring' section needs the 'inventory' section, whose EC2 instances the monitoring hosts are matched with")
    }

    @Test func templateTypesTheMonitoringFields() throws {
        let t = try #require(try JSONSerialization.jsonObject(with: IndexTemplates.inventory(indexStem: "awscli")) as? [String: Any])
        let properties = ((t["template"] as? [String: Any])?["mappings"] as? [String: Any])?["properties"] as? [String: Any]
        let monitoring = (properties?["monitoring"] as? [String: Any])?["properties"] as? [String: Any]
        #expect((monitoring?["monitored"] as? [String: Any])?["type"] as? String == "keyword")
        #expect((monitoring?["last_check"] as? [String: Any])?["type"] as? String == "date")
        #expect((monitoring?["as_of"] as? [String: Any])?["type"] as? String == "date")
        let counts = (monitoring?["counts"] as? [String: Any])?["properties"] as? [String: Any]
        #expect(Set(counts?.keys.map { $0 } ?? []) == ["monitored", "not_monitored", "unknown"])
        #expect((counts?["unknown"] as? [String: Any])?["type"] as? String == "long")
    }
}

@Suite struct MonitoringRunChoiceTests {
    @Test func theClosestRunWithinMaxAge() throws {
        let root = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let layout = SpoolLayout(root: root.path)
        for name in ["20261130T095500Z-00000001", "20261130T100200Z-00000002", "20261130T100200Z-00000003", "20261130T120000Z-00000004"] {
            let run = layout.raw("monitoring").appendingPathComponent(name)
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: run.appendingPathComponent("manifest.json"))
        }
        // a folder without its manifest is not a run
        try FileManager.default.createDirectory(at: layout.raw("monitoring").appendingPathComponent("20261130T100000Z-00000005"), withIntermediateDirectories: true)
        func nearest(_ time: String, _ minutes: Double = 60) -> String? {
            MonitoringJoin.nearestRun(layout: layout, to: RunID(time)!.date!, maxAge: minutes * 60)?.folder.lastPathComponent
        }
        #expect(nearest("20261130T100000Z-aaaaaaaa") == "20261130T100200Z-00000003")   // 2 min after beats 5 min before; the later of two
        #expect(nearest("20261130T095700Z-aaaaaaaa") == "20261130T095500Z-00000001")
        #expect(nearest("20261130T113000Z-aaaaaaaa") == "20261130T120000Z-00000004")
        #expect(nearest("20261130T140000Z-aaaaaaaa") == nil)
        #expect(nearest("20261130T104000Z-aaaaaaaa", 10) == nil)
    }
}
