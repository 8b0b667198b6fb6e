import Foundation
import Logging

/// Imports the saved objects of `dashboards/` (index patterns, searches,
/// visualizations, dashboards) into Kibana, OpenSearch Dashboards or Energy
/// Logserver through the saved-objects import API, with the index's own
/// credentials: `POST <url>[/s/<space>]/api/saved_objects/_import?overwrite=true`,
/// multipart with the NDJSON file, and the `kbn-xsrf` / `osd-xsrf` headers both
/// products require. Overwriting makes it idempotent.
public struct DashboardInstaller {
    let client: IndexClient
    let url: String
    let space: String?
    let logger: Logger

    public init(client: IndexClient, url: String, space: String?, logger: Logger) {
        self.client = client
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.space = space
        self.logger = logger
    }

    /// What the import did.
    public struct Outcome: Sendable {
        public let imported: Int
        public let objects: Int
    }

    /// The default location of the saved objects: `share/cloudspool/` beside the installed binaries,
    /// then the repository's `dashboards/` (running from a build folder).
    public static func defaultFile(executable: URL) -> URL? {
        var candidates = [executable.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/cloudspool/cloudspool-dashboards.ndjson")]
        var folder = executable.deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(folder.appendingPathComponent("dashboards/cloudspool-dashboards.ndjson"))
            folder = folder.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }

    public func install(file: URL) throws -> Outcome {
        let ndjson: Data
        do {
            ndjson = try Data(contentsOf: file)
        } catch {
            throw CloudspoolError(.configuration, "cannot read the saved objects \(file.path): it \(FileProblem.describe(file.path, error))")
        }
        let objects = ndjson.split(separator: 10).filter { !$0.allSatisfy { $0 == 32 || $0 == 13 } }.count
        guard objects > 0 else { throw CloudspoolError(.configuration, "\(file.path) holds no saved objects") }
        let boundary = "cloudspool-" + UUID().uuidString
        var body = Data()
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(file.lastPathComponent)\"\r\nContent-Type: application/ndjson\r\n\r\n".utf8))
        body.append(ndjson)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        let spacePath = space.map { "/s/\(AWSURIEncoding.encode($0))" } ?? ""
        let target = "\(url)\(spacePath)/api/saved_objects/_import?overwrite=true"
        logger.info("importing saved objects", metadata: ["url": "\(target)", "objects": "\(objects)"])
        let response: HTTPResponse
        do {
            response = try client.send(method: "POST", url: target, body: body, contentType: "multipart/form-data; boundary=\(boundary)",
                                       headers: [("kbn-xsrf", "cloudspool"), ("osd-xsrf", "cloudspool")])
        } catch let error as HTTPClientError {
            throw CloudspoolError(.index, "cannot reach the dashboards at \(url): \(error.detail)")
        }
        let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        guard response.status == 200 else {
            let message = json?["message"] as? String ?? String(decoding: response.body.prefix(300), as: UTF8.self)
            let hint: String
            switch response.status {
            case 401: hint = "; the dashboards refused the index credentials (index.auth, username, password_file / api_key_file)"
            case 403: hint = "; the user may not import saved objects (it needs the saved-objects management privilege)"
            case 404: hint = space != nil ? "; does the space '\(space!)' exist?" : "; is \(url) the Dashboards URL (not the index's)?"
            case 409: hint = "; objects conflict with existing ones"
            case 413: hint = "; raise the Dashboards' server.maxPayloadBytes"
            default: hint = ""
            }
            throw CloudspoolError(.index, "the dashboards at \(url) refused the import: HTTP \(response.status) \(message)\(hint)")
        }
        let imported = json?["successCount"] as? Int ?? 0
        if json?["success"] as? Bool != true {
            let errors = (json?["errors"] as? [[String: Any]] ?? []).prefix(5).map { e -> String in
                let kind = (e["error"] as? [String: Any])?["type"] as? String ?? "error"
                return "\(e["type"] as? String ?? "?") \(e["id"] as? String ?? "?") (\(kind))"
            }
            throw CloudspoolError(.index, "the dashboards imported \(imported) of \(objects) objects; refused: \(errors.joined(separator: ", "))")
        }
        return Outcome(imported: imported, objects: objects)
    }
}
