import Foundation

/// Everything one account in one region answered, decoded into the AWS
/// CLI's JSON: the input of the inventory documents.
struct InventoryUnitData {
    let account: String
    let region: String
    /// Calls (`service Operation`) that failed for this unit: their figures are unknown.
    var failedCalls: Set<String> = []
    /// Decoded pages per `service/Operation`, in page order, with the request parameters of each.
    var pages: [String: [(parameters: [String: String], value: JSONValue)]] = [:]

    /// Every item of list `key` over the pages of `service/operation`.
    func items(_ service: String, _ operation: String, _ key: String) -> [JSONValue] {
        (pages["\(service)/\(operation)"] ?? []).flatMap { $0.value[key]?.arrayValue ?? [] }
    }

    var reservations: [JSONValue] { items("ec2", "DescribeInstances", "Reservations") }

    /// (instance, its reservation) pairs.
    var instances: [(JSONValue, JSONValue)] {
        reservations.flatMap { reservation in (reservation["Instances"]?.arrayValue ?? []).map { ($0, reservation) } }
    }

    /// EC2 instance type -> (vCPUs, memory MiB).
    var instanceTypes: [String: (vcpus: Int64, memoryMiB: Int64)] {
        var result: [String: (Int64, Int64)] = [:]
        for type in items("ec2", "DescribeInstanceTypes", "InstanceTypes") {
            guard let name = type["InstanceType"]?.stringValue, let vcpus = type["VCpuInfo"]?["DefaultVCpus"]?.intValue,
                  let memory = type["MemoryInfo"]?["SizeInMiB"]?.intValue else { continue }
            result[name] = (vcpus, memory)
        }
        return result
    }

    /// Images, each once (owned ones and those the instances run).
    var images: [JSONValue] {
        var seen = Set<String>()
        return items("ec2", "DescribeImages", "Images").filter { seen.insert($0["ImageId"]?.stringValue ?? UUID().uuidString).inserted }
    }

    /// LookupEvents answers per instance id.
    var lookupEvents: [String: [JSONValue]] {
        var result: [String: [JSONValue]] = [:]
        for page in pages["cloudtrail/LookupEvents"] ?? [] {
            guard let id = page.parameters["ResourceName"] else { continue }
            result[id, default: []] += page.value["Events"]?.arrayValue ?? []
        }
        return result
    }
}

extension JSONValue {
    /// Follows object keys.
    func path(_ keys: String...) -> JSONValue? {
        var value: JSONValue? = self
        for key in keys { value = value?[key] }
        return value
    }

    /// `Key=Value` for each `{Key, Value}` of a tag list.
    var tagStrings: [JSONValue] {
        arrayValue.compactMap { tag in
            guard let key = tag["Key"]?.stringValue else { return nil }
            return .string("\(key)=\(tag["Value"]?.stringValue ?? "")")
        }
    }
}
