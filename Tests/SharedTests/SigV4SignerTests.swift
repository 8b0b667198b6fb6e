import Foundation
import Testing
@testable import Shared

/// The signer against AWS's published SigV4 test suite and against botocore.
@Suite struct SigV4SignerTests {
    static let suiteCredentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)   // 20150830T123600Z

    static var suiteCases: [String] {
        SpoolFiles.list(fixturesURL.appendingPathComponent("sigv4")).filter {
            SpoolFiles.isDirectory(fixturesURL.appendingPathComponent("sigv4/\($0)"))
        }
    }

    /// Parses a `.req` file: request line (split at the first and last space), headers with folded lines, body.
    static func parseRequest(_ text: String) -> (method: String, path: String, headers: [(String, String)], body: String) {
        let sections = text.components(separatedBy: "\n\n")
        let head = sections[0].components(separatedBy: "\n")
        let body = sections.count > 1 ? sections[1...].joined(separator: "\n\n") : ""
        let requestLine = head[0]
        let firstSpace = requestLine.firstIndex(of: " ")!
        let lastSpace = requestLine.lastIndex(of: " ")!
        let method = String(requestLine[..<firstSpace])
        let target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
        var headers: [(String, String)] = []
        for line in head.dropFirst() {
            if line.first == " " || line.first == "\t" {
                // A folded line: the suite treats it as another value of the same header.
                headers.append((headers.last!.0, line))
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        return (method, target, headers, body)
    }

    @Test(arguments: suiteCases)
    func awsTestSuite(name: String) throws {
        let folder = fixturesURL.appendingPathComponent("sigv4/\(name)")
        let request = try Self.parseRequest(String(contentsOf: folder.appendingPathComponent("\(name).req"), encoding: .utf8))
        let expectedCanonical = try String(contentsOf: folder.appendingPathComponent("\(name).creq"), encoding: .utf8)
        let expectedStringToSign = try String(contentsOf: folder.appendingPathComponent("\(name).sts"), encoding: .utf8)
        let expectedAuthorization = try String(contentsOf: folder.appendingPathComponent("\(name).authz"), encoding: .utf8)

        let signer = SigV4Signer(credentials: Self.suiteCredentials, region: "us-east-1", service: "service")
        let pathAndQuery = request.path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let hash = SHA256Hex.of(Data(request.body.utf8))
        let canonical = signer.canonicalRequest(method: request.method, path: String(pathAndQuery[0]),
                                                query: pathAndQuery.count > 1 ? String(pathAndQuery[1]) : "",
                                                headers: request.headers.map { (name: $0.0, value: $0.1) }, payloadHash: hash)
        #expect(canonical.text == expectedCanonical)
        let toSign = signer.stringToSign(canonicalRequest: canonical.text, amzDate: "20150830T123600Z", scope: "20150830/us-east-1/service/aws4_request")
        #expect(toSign == expectedStringToSign)
        let authorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(canonical.signedHeaders), Signature=\(signer.signature(stringToSign: toSign, day: "20150830"))"
        #expect(authorization == expectedAuthorization)
    }

    @Test func wholeRequestMatchesTheSuite() throws {
        // sign() end to end on get-vanilla: the headers it adds and the Authorization header.
        var request = HTTPRequest(method: "GET", url: "https://example.amazonaws.com/")
        SigV4Signer(credentials: Self.suiteCredentials, region: "us-east-1", service: "service").sign(&request, date: Self.suiteDate)
        #expect(request.header("host") == "example.amazonaws.com")
        #expect(request.header("x-amz-date") == "20150830T123600Z")
        #expect(request.header("authorization") == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    /// The same requests signed by botocore (run live) and by this signer.
    @Test func matchesBotocore() throws {
        let requestsURL = fixturesURL.appendingPathComponent("botocore_requests.json")
        let requests = try JSONSerialization.jsonObject(with: Data(contentsOf: requestsURL)) as! [[String: Any]]
        let output = try runProgram("/usr/bin/env", ["python3", "-B", fixturesURL.appendingPathComponent("botocore_sign.py").path],
                                    input: try Data(contentsOf: requestsURL))
        let expected = try JSONSerialization.jsonObject(with: output) as! [[String: Any]]
        #expect(expected.count == requests.count)
        #expect(requests.count >= 10)
        for (request, reference) in zip(requests, expected) {
            let timestamp = request["timestamp"] as! String
            let date = try #require(Timestamp.parse(Array("\(timestamp.prefix(4))-\(timestamp.dropFirst(4).prefix(2))-\(timestamp.dropFirst(6).prefix(2))T\(timestamp.dropFirst(9).prefix(2)):\(timestamp.dropFirst(11).prefix(2)):\(timestamp.dropFirst(13).prefix(2))Z".utf8)[...])).date
            let credentials = AWSCredentials(accessKeyId: request["access_key"] as! String, secretAccessKey: request["secret_key"] as! String,
                                             sessionToken: request["session_token"] as? String)
            var http = HTTPRequest(method: request["method"] as! String, url: request["url"] as! String,
                                   headers: (request["headers"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) },
                                   body: (request["body_base64"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data())
            let unsigned = request["unsigned_payload"] as? Bool ?? false
            SigV4Signer(credentials: credentials, region: request["region"] as! String, service: request["service"] as! String)
                .sign(&http, date: date, payloadHash: unsigned ? SigV4Signer.unsignedPayload : nil)
            let name = request["name"] as? String ?? "?"
            #expect(http.header("authorization") == reference["authorization"] as? String, "request \(name)")
            if let sha = reference["x-amz-content-sha256"] as? String {
                #expect(http.header("x-amz-content-sha256") == sha, "request \(name)")
            }
            if let token = reference["x-amz-security-token"] as? String {
                #expect(http.header("x-amz-security-token") == token, "request \(name)")
            }
        }
    }

    @Test func uriEncodingFollowsAWSRules() {
        #expect(AWSURIEncoding.encode("AWSLogs/ü ñ/a+b=c~*.json.gz", keepSlash: true) == "AWSLogs/%C3%BC%20%C3%B1/a%2Bb%3Dc~%2A.json.gz")
        #expect(AWSURIEncoding.encode("a/b") == "a%2Fb")
        #expect(AWSURIEncoding.decode("a%2Fb%20c+d") == "a/b c+d")
    }

    @Test func credentialsNeverShowTheirSecrets() {
        let credentials = AWSCredentials(accessKeyId: "AKIAABCDEFGHIJKLMNOP", secretAccessKey: "SECRET-VALUE", sessionToken: "TOKEN-VALUE")
        let text = "\(credentials)"
        #expect(!text.contains("SECRET-VALUE"))
        #expect(!text.contains("TOKEN-VALUE"))
        #expect(text == "AWSCredentials(accessKeyId: AKIA…MNOP, secret: <redacted>, token: <redacted>)")
    }
}

