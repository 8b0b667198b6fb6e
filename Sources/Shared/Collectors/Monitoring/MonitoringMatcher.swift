import Foundation

/// An EC2 instance as the matching rules see it.
public struct MonitoringInstance: Sendable, Equatable {
    public let account: String
    public let region: String
    public let id: String
    public let nameTag: String?
    /// Every private IPv4 address of its interfaces.
    public let privateIPs: [String]
    /// Every public IPv4 address of its interfaces.
    public let publicIPs: [String]
    public let privateDNS: String?
    public let publicDNS: String?

    /// `<account>/<region>/<instance id>`.
    public var key: String { "\(account)/\(region)/\(id)" }

    public init(account: String, region: String, id: String, nameTag: String? = nil, privateIPs: [String] = [], publicIPs: [String] = [],
                privateDNS: String? = nil, publicDNS: String? = nil) {
        self.account = account
        self.region = region
        self.id = id
        self.nameTag = nameTag
        self.privateIPs = privateIPs
        self.publicIPs = publicIPs
        self.privateDNS = privateDNS
        self.publicDNS = publicDNS
    }

    /// From the instance as the AWS CLI prints it. A terminated instance has
    /// given its addresses back (another instance may have them now): it is
    /// matched by id, custom variable and Name tag only.
    public init?(instance: JSONValue, account: String, region: String) {
        guard let id = instance["InstanceId"]?.stringValue, !id.isEmpty else { return nil }
        let name = (instance["Tags"]?.arrayValue ?? []).first { $0["Key"]?.stringValue == "Name" }?["Value"]?.stringValue
        let state = instance["State"]?["Name"]?.stringValue ?? ""
        var privateIPs: [String] = []
        var publicIPs: [String] = []
        var privateDNS: String?
        var publicDNS: String?
        if state != "terminated" && state != "shutting-down" {
            func add(_ value: JSONValue?, to list: inout [String]) {
                if let s = value?.stringValue, !s.isEmpty, !list.contains(s) { list.append(s) }
            }
            add(instance["PrivateIpAddress"], to: &privateIPs)
            add(instance["PublicIpAddress"], to: &publicIPs)
            for interface in instance["NetworkInterfaces"]?.arrayValue ?? [] {
                add(interface["PrivateIpAddress"], to: &privateIPs)
                add(interface["Association"]?["PublicIp"], to: &publicIPs)
                for address in interface["PrivateIpAddresses"]?.arrayValue ?? [] {
                    add(address["PrivateIpAddress"], to: &privateIPs)
                    add(address["Association"]?["PublicIp"], to: &publicIPs)
                }
            }
            privateDNS = instance["PrivateDnsName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            publicDNS = instance["PublicDnsName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        }
        self.init(account: account, region: region, id: id, nameTag: name, privateIPs: privateIPs, publicIPs: publicIPs,
                  privateDNS: privateDNS, publicDNS: publicDNS)
    }
}

/// Matches monitoring hosts with EC2 instances. For each host the rules are
/// tried in the configured order and the first rule that finds an instance
/// decides: a host holding an instance id in a custom variable is that
/// instance, even when its address is also some other instance's private IP
/// (private ranges repeat between VPCs and accounts). That rule may find
/// several instances (the same Name tag twice, the same private IP in two
/// VPCs): the host then matches all of them, and says so.
public struct MonitoringMatcher: Sendable {
    public let rules: [MonitoringMatchRule]
    public let instances: [MonitoringInstance]
    private var index: [MonitoringMatchRule: [String: [Int]]] = [:]

    public init(instances: [MonitoringInstance], rules: [MonitoringMatchRule]) {
        self.instances = instances
        self.rules = rules
        for rule in rules {
            var keys: [String: [Int]] = [:]
            for (n, instance) in instances.enumerated() {
                for key in Set(Self.instanceKeys(instance, rule)) { keys[key, default: []].append(n) }
            }
            index[rule] = keys
        }
    }

    /// The first rule that finds instances for `host`, and the instances (indexes into `instances`, ascending).
    public func match(_ host: MonitoringHost) -> (rule: MonitoringMatchRule, instances: [Int])? {
        for rule in rules {
            guard let keys = index[rule], !keys.isEmpty else { continue }
            var found = Set<Int>()
            for key in Self.hostKeys(host, rule) { found.formUnion(keys[key] ?? []) }
            if !found.isEmpty { return (rule, found.sorted()) }
        }
        return nil
    }

    static func dns(_ name: String) -> String {
        var name = name.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        return name
    }

    static func instanceKeys(_ instance: MonitoringInstance, _ rule: MonitoringMatchRule) -> [String] {
        switch rule {
        case .customVariable, .instanceID: return [instance.id.lowercased()]
        case .privateIP: return instance.privateIPs
        case .publicIP: return instance.publicIPs
        case .privateDNS: return instance.privateDNS.map { [dns($0)] } ?? []
        case .publicDNS: return instance.publicDNS.map { [dns($0)] } ?? []
        case .nameTag: return instance.nameTag.flatMap { $0.isEmpty ? nil : [$0.lowercased()] } ?? []
        }
    }

    static func hostKeys(_ host: MonitoringHost, _ rule: MonitoringMatchRule) -> [String] {
        let names = [host.name, host.alias, host.displayName].compactMap { $0 }
        switch rule {
        case .customVariable: return host.instanceIDs.map { $0.lowercased() }
        case .instanceID, .nameTag: return names.map { $0.lowercased() }
        case .privateIP, .publicIP: return [host.address, host.name].compactMap { $0?.trimmingCharacters(in: .whitespaces) }
        case .privateDNS, .publicDNS: return [host.name, host.address].compactMap { $0 }.map(dns)
        }
    }
}
