import Foundation

extension RawRunWriter {
    /// Downloads an S3 object, byte for byte, to `objects/<key>` of this run
    /// and adds its manifest entry (size and SHA-256 of what was received).
    @discardableResult
    /// `keptHeaders` maps response headers (lower case) to manifest parameters (the signature of a CloudTrail digest).
    public func storeObject(from s3: S3Client, bucket: String, key: String, account: String?, region: String?,
                            extraParameters: [String: String] = [:], keptHeaders: [String: String] = [:], clock: RuntimeClock) throws -> RawRunManifest.Entry {
        let relative = "objects/" + SafePath.relativePath(forKey: key)
        let url = try fileURL(relative)
        let file = try OutputFile(creating: url)
        let requestedAt = clock.now()
        let result: (head: HTTPResponseHead, size: Int64, sha256: String)
        do {
            result = try s3.getObject(key: key, restart: { try file.truncate(to: 0) }, sink: { try file.write($0) })
            try file.sync()
            try file.close()
        } catch {
            // No file without its manifest entry: the run may still be committed with the other objects.
            try? file.close()
            try? FileManager.default.removeItem(at: url)
            throw error
        }
        var parameters = ["Bucket": bucket, "Key": key]
        parameters.merge(extraParameters) { _, new in new }
        for (header, parameter) in keptHeaders {
            if let value = result.head.headers[header] { parameters[parameter] = value }
        }
        let entry = RawRunManifest.Entry(
            path: relative, service: "s3", operation: "GetObject", account: account, region: region,
            parameters: parameters, requestedAt: UTCDate.iso8601(requestedAt), httpStatus: result.head.status,
            size: result.size, sha256: result.sha256)
        try add(entry)
        return entry
    }
}
