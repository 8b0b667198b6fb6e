import Foundation
import Logging

/// Calls one AWS service in one region with one set of credentials: signs,
/// sends through libcurl, retries throttling, 5xx and network errors with
/// backoff, renews expired credentials, and turns error answers into
/// `AWSServiceError`s that name the service, operation, account and region.
public final class AWSClient {
    public let service: AWSService
    public let region: String
    /// The account the credentials belong to, for messages (nil when unknown).
    public let account: String?
    public let endpoint: String
    let credentials: any CredentialProvider
    let http: HTTPClient
    let retry: RetryPolicy
    let clock: RuntimeClock
    let logger: Logger

    public init(service: AWSService, region: String, account: String? = nil, endpoint: String,
                credentials: any CredentialProvider, http: HTTPClient, retry: RetryPolicy,
                clock: RuntimeClock = .system, logger: Logger) {
        self.service = service
        self.region = region
        self.account = account
        self.endpoint = endpoint
        self.credentials = credentials
        self.http = http
        self.retry = retry
        self.clock = clock
        self.logger = logger
    }

    /// Sends a request and returns the successful (2xx) response.
    /// `path` is already encoded; `query` is encoded here.
    public func send(operation: String, method: String = "GET", path: String = "/", query: [(String, String)] = [],
                     headers: [(name: String, value: String)] = [], body: Data = Data()) throws -> HTTPResponse {
        var collected = Data()
        let head = try stream(operation: operation, method: method, path: path, query: query, headers: headers, body: body,
                              restart: { collected.removeAll(keepingCapacity: true) },
                              sink: { collected.append(contentsOf: $0) })
        return HTTPResponse(head: head, body: collected)
    }

    /// Sends a request and hands a successful response's body to `sink` as it
    /// arrives. Before every attempt `restart` is called, so the sink can start over.
    public func stream(operation: String, method: String = "GET", path: String = "/", query: [(String, String)] = [],
                       headers: [(name: String, value: String)] = [], body: Data = Data(), unsignedPayload: Bool = false,
                       restart: () throws -> Void, sink: (UnsafeRawBufferPointer) throws -> Void) throws -> HTTPResponseHead {
        let queryString = AWSURIEncoding.query(query)
        let url = endpoint + path + (queryString.isEmpty ? "" : "?" + queryString)
        var attempt = 0
        var renewedCredentials = false
        while true {
            try restart()
            var request = HTTPRequest(method: method, url: url, headers: headers, body: body)
            let creds = try credentials.require(now: clock.now())
            SigV4Signer(credentials: creds, region: region, service: service.signingName)
                .sign(&request, date: clock.now(), payloadHash: unsignedPayload ? SigV4Signer.unsignedPayload : nil)
            var errorBody = Data()
            let outcome: Result<HTTPResponseHead, Error>
            do {
                let head = try http.send(request) { head, chunk in
                    if (200..<300).contains(head.status) { try sink(chunk) } else if errorBody.count < 1 << 20 { errorBody.append(contentsOf: chunk) }
                }
                outcome = .success(head)
            } catch {
                outcome = .failure(error)
            }
            let failure: Error
            var retryAfter: String?
            switch outcome {
            case .success(let head) where (200..<300).contains(head.status):
                return head
            case .success(let head):
                let error = AWSServiceError.parse(service: service.signingName, operation: operation, account: account, region: region,
                                                  response: HTTPResponse(head: head, body: errorBody))
                if error.isExpiredCredentials && !renewedCredentials {
                    renewedCredentials = true
                    logger.info("credentials expired; renewing", metadata: ["service": "\(service.signingName)", "operation": "\(operation)"])
                    credentials.invalidate()
                    continue
                }
                guard error.isRetryable, retry.retriesThrottling || !error.isThrottling else { throw error }
                failure = error
                retryAfter = head.headers["retry-after"]
            case .failure(let error as HTTPClientError) where error.isTransient:
                failure = error
            case .failure(let error):
                throw error
            }
            guard attempt < retry.maxRetries else { throw failure }
            let wait = retry.delay(attempt: attempt, retryAfter: retryAfter)
            logger.warning("retrying AWS call", metadata: [
                "service": "\(service.signingName)", "operation": "\(operation)", "region": "\(region)",
                "account": "\(account ?? "-")", "attempt": "\(attempt + 1)", "wait_s": "\(String(format: "%.2f", wait))",
                "error": "\(failure)",
            ])
            clock.sleep(wait)
            attempt += 1
        }
    }
}
