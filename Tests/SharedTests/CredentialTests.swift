import Foundation
import Testing
@testable import Shared

@Suite struct CredentialTests {
    let http = HTTPClientConfiguration(connectTimeoutSeconds: 2, stallTimeoutSeconds: 5)

    func builder(_ environment: [String: String], clock: RuntimeClock = .system) -> CredentialChainBuilder {
        CredentialChainBuilder(environment: environment, defaultRegion: "eu-west-1", httpConfiguration: http,
                               retry: RetryPolicy(maxRetries: 1, baseDelay: 0.01), clock: clock, logger: silentLogger)
    }

    @Test func environmentComesFirst() throws {
        let env = ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
                   "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"]
        let credentials = try builder(env).standardChain().require(now: Date())
        #expect(credentials == AWSCredentials(accessKeyId: "AKIAENV", secretAccessKey: "env-secret", sessionToken: "env-token"))
    }

    @Test func halfSetEnvironmentIsAnError() throws {
        let provider = EnvironmentCredentialProvider(environment: ["AWS_ACCESS_KEY_ID": "AKIAENV"])
        let error = #expect(throws: CloudspoolError.self) { try provider.credentials(now: Date()) }
        #expect(error?.message == "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (only one of them is set)")
    }

    @Test func noCredentialsAnywhereSaysWhereItLooked() throws {
        let env = ["AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"]
        let error = #expect(throws: CloudspoolError.self) { try builder(env).standardChain().require(now: Date()) }
        #expect(error?.code == .credentials)
        #expect(error?.message.hasPrefix("no AWS credentials found (chain: environment, EC2 instance role (IMDSv2))") == true)
    }

    @Test func sharedFilesAreParsedAsTheCLIDoes() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
        # comment
        [default]
        region = eu-west-1
        [profile ops]
        aws_access_key_id = AKIAFROMCONFIG
        aws_secret_access_key = config-secret ; trailing comment
        s3 =
          addressing_style = path
        [sso-session corp]
        sso_region = eu-west-1
        """.write(to: folder.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        try "[default]\naws_access_key_id=AKIADEFAULT\naws_secret_access_key=default-secret\n".write(to: folder.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
        let env = ["AWS_CONFIG_FILE": folder.appendingPathComponent("config").path, "AWS_SHARED_CREDENTIALS_FILE": folder.appendingPathComponent("credentials").path,
                   "AWS_EC2_METADATA_DISABLED": "true"]
        let shared = try AWSSharedConfig.load(environment: env)
        #expect(shared.profiles["default"] == ["region": "eu-west-1", "aws_access_key_id": "AKIADEFAULT", "aws_secret_access_key": "default-secret"])
        #expect(shared.profiles["ops"]?["aws_secret_access_key"] == "config-secret")
        #expect(shared.profiles["corp"] == nil)
        #expect(try builder(env).standardChain().require(now: Date()).accessKeyId == "AKIADEFAULT")
        #expect(try builder(env.merging(["AWS_PROFILE": "ops"]) { $1 }).standardChain().require(now: Date()).accessKeyId == "AKIAFROMCONFIG")
        let error = #expect(throws: CloudspoolError.self) { try builder(env).standardChain(profile: "nope") }
        #expect(error?.message.hasPrefix("AWS profile 'nope' is not defined in") == true)
    }

    /// The seed's setup: `[profile 111111111222] role_arn=… source_profile=default`, through STS on moto.
    @Test func roleProfileAssumesTheRoleAndRenewsBeforeExpiry() throws {
        let moto = try LoopbackPeer.moto()
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
        [default]
        aws_access_key_id=AKIASOURCEEXAMPLE01
        aws_secret_access_key=source-secret
        [profile 111111111222]
        role_arn = arn: aws: iam :: 111111111222: role / EnergyLogReadOnly
        source_profile = default
        region = eu-west-1
        output = json
        """.write(to: folder.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        let env = ["AWS_CONFIG_FILE": folder.appendingPathComponent("config").path, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                   "AWS_PROFILE": "111111111222", "AWS_ENDPOINT_URL": moto.url, "AWS_EC2_METADATA_DISABLED": "true"]
        let clock = ManualClock(Date())
        let chain = try builder(env, clock: clock.clock).standardChain()
        let first = try chain.require(now: clock.now)
        #expect(first.accessKeyId.hasPrefix("ASIA"))
        #expect(first.sessionToken != nil)
        let expiration = try #require(first.expiration)
        #expect(try chain.require(now: clock.now) == first)   // cached
        clock.advance(expiration.timeIntervalSince(clock.now) - 200)   // inside the renewal margin
        let renewed = try chain.require(now: clock.now)
        #expect(renewed.accessKeyId != first.accessKeyId)

        // The assumed role really is account 111111111222 to moto.
        let sts = AWSClient(service: .sts, region: "eu-west-1", endpoint: moto.url, credentials: chain,
                            http: try HTTPClient(), retry: RetryPolicy(maxRetries: 0), clock: clock.clock, logger: silentLogger)
        let identity = try sts.send(operation: "GetCallerIdentity", method: "POST", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                    body: Data("Action=GetCallerIdentity&Version=2011-06-15".utf8))
        let account = try XMLNode.parse(identity.body, what: "GetCallerIdentity").path("GetCallerIdentityResult", "Account")?.text
        #expect(account == "111111111222")
    }

    @Test func instanceRoleThroughIMDSv2() throws {
        let imds = try LoopbackPeer({ ["python3", "-B", fixturesURL.appendingPathComponent("imds_server.py").path, "\($0)"] })
        let provider = InstanceMetadataCredentialProvider(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url])
        let credentials = try #require(try provider.credentials(now: Date()))
        #expect(credentials == AWSCredentials(accessKeyId: "ASIAIMDSEXAMPLE00001", secretAccessKey: "imds-secret", sessionToken: "imds-token",
                                              expiration: UTCDate.parseISO8601("2026-11-28T16:00:00Z")))
    }

    @Test func unreachableIMDSMeansNotOnEC2() throws {
        let provider = InstanceMetadataCredentialProvider(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(LoopbackPeer.freePort())"])
        #expect(try provider.credentials(now: Date()) == nil)
    }

    @Test func endpointOverridesFollowTheSDKs() {
        let resolver = AWSEndpointResolver(environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:1/", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:2"])
        #expect(resolver.endpoint(for: .s3, region: "eu-west-1") == "http://127.0.0.1:2")
        #expect(resolver.endpoint(for: .sts, region: "eu-west-1") == "http://127.0.0.1:1")
        let plain = AWSEndpointResolver(environment: [:])
        #expect(plain.endpoint(for: .ec2, region: "eu-west-1") == "https://ec2.eu-west-1.amazonaws.com")
        #expect(plain.endpoint(for: .s3, region: "cn-north-1") == "https://s3.cn-north-1.amazonaws.com.cn")
        let ignored = AWSEndpointResolver(environment: ["AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"])
        #expect(ignored.endpoint(for: .sts, region: "us-east-1") == "https://sts.us-east-1.amazonaws.com")
    }
}
