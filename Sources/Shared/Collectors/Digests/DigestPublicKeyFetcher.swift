import Foundation
import Logging

/// Stores the answers of `cloudtrail:ListPublicKeys` (the public keys
/// CloudTrail signed digests with) for the home regions and the time of the
/// digests a fetch run stored, as `responses/cloudtrail/<region>/ListPublicKeys-<NNNN>.json`.
struct DigestPublicKeyFetcher {
    let access: AWSAccess
    let clock: RuntimeClock
    let logger: Logger

    static let target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys"

    func store(for digests: [CloudTrailKey], into writer: RawRunWriter, report: inout RunReport) throws {
        var ranges: [String: (from: Date, to: Date)] = [:]
        for digest in digests {
            guard let home = DigestNaming.homeRegion(digest.key) else { continue }
            let range = ranges[home] ?? (digest.deliveredAt, digest.deliveredAt)
            ranges[home] = (min(range.from, digest.deliveredAt), max(range.to, digest.deliveredAt))
        }
        for (region, range) in ranges.sorted(by: { $0.key < $1.key }) {
            // Keys valid from two hours before the oldest digest's end to two hours after the newest (never in the future).
            let from = range.from.addingTimeInterval(-2 * 3600)
            let to = min(range.to.addingTimeInterval(2 * 3600), clock.now())
            do {
                try fetch(region: region, from: from, to: max(from, to), into: writer, report: &report)
            } catch let error as AWSServiceError {
                let text = "\(error); the digests are stored but cannot be validated until the keys are fetched"
                    + (error.isRetryable ? " (the next run asks again)" : ": allow cloudtrail:ListPublicKeys (iam-policy.json), or set cloudtrail.validate_digests: false")
                if error.isRetryable { report.addRetryLater(text) } else { report.errors.append(text) }
                writer.failures.append(RawRunManifest.Failure(account: nil, region: region, call: "cloudtrail ListPublicKeys", error: "\(error)"))
            } catch let error as HTTPClientError {
                report.addRetryLater("cloudtrail ListPublicKeys in \(region): \(error); the next run asks again")
                writer.failures.append(RawRunManifest.Failure(account: nil, region: region, call: "cloudtrail ListPublicKeys", error: "\(error)"))
            }
        }
    }

    func client(region: String) throws -> AWSClient {
        AWSClient(service: .cloudtrail, region: region, endpoint: access.endpoints.endpoint(for: .cloudtrail, region: region),
                  credentials: access.credentials, http: try HTTPClient(configuration: access.http), retry: access.retry,
                  clock: clock, logger: logger)
    }

    /// How many keys `region` lists for the last day (`cloudspool-fetch --check`); nothing is stored.
    func probe(region: String) throws -> Int {
        let now = clock.now()
        let body: [String: Any] = ["StartTime": Int(now.timeIntervalSince1970) - 86_400, "EndTime": Int(now.timeIntervalSince1970)]
        let response = try client(region: region).json(target: Self.target, operation: "ListPublicKeys", body: body)
        var keys = DigestPublicKeys()
        return try keys.add(listPublicKeysAnswer: response.body, region: region)
    }

    func fetch(region: String, from: Date, to: Date, into writer: RawRunWriter, report: inout RunReport) throws {
        let client = try client(region: region)
        var token: String?
        var page = 0
        repeat {
            var body: [String: Any] = ["StartTime": Int(from.timeIntervalSince1970), "EndTime": Int(to.timeIntervalSince1970)]
            var parameters = ["StartTime": UTCDate.iso8601(from), "EndTime": UTCDate.iso8601(to)]
            if let token {
                body["NextToken"] = token
                parameters["NextToken"] = token
            }
            let requestedAt = clock.now()
            let response = try client.json(target: Self.target, operation: "ListPublicKeys", body: body)
            page += 1
            let path = "responses/cloudtrail/\(region)/ListPublicKeys-\(String(format: "%04d", page)).json"
            try SpoolFiles.writeAtomically(response.body, to: try writer.fileURL(path))
            try writer.add(RawRunManifest.Entry(path: path, service: "cloudtrail", operation: "ListPublicKeys", account: nil, region: region,
                                            parameters: parameters, requestedAt: UTCDate.iso8601(requestedAt), httpStatus: response.status,
                                            size: Int64(response.body.count), sha256: SHA256Hex.of(response.body)))
            report.add("calls")
            token = (try? JSONValueParser.parse(Array(response.body)))?["NextToken"]?.stringValue
        } while token != nil && page < 100
        logger.info("public keys fetched", metadata: ["region": "\(region)", "pages": "\(page)"])
    }
}
