import Foundation
import Logging
@testable import Shared

/// Where the test fixtures are.
let fixturesURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// A logger that discards everything (tests never bootstrap the global logging system).
let silentLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

/// A fresh temporary folder, removed by the caller with `cleanup`.
func makeTemporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cloudspool-test-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs a program and returns its standard output; throws on a non-zero exit.
func runProgram(_ path: String, _ arguments: [String], input: Data? = nil, environment: [String: String]? = nil) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let stdout = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(input) }
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CloudspoolError(.format, "\(path) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
    }
    return output
}

/// gzip-compresses `data` with the system's gzip, the reference implementation.
func gzipped(_ data: Data) throws -> Data {
    try runProgram("/bin/gzip", ["-c", "-n"], input: data)
}

/// Collects everything a `GzipDecoder` produces.
func gunzip(_ data: Data, feedSize: Int = 7) throws -> Data {
    let decoder = try GzipDecoder(outputChunkSize: 4096)
    var out = Data()
    var offset = 0
    while offset < data.count {
        let end = min(offset + feedSize, data.count)
        try data[offset..<end].withUnsafeBytes { chunk in
            try decoder.decode(chunk) { out.append(contentsOf: $0) }
        }
        offset = end
    }
    try decoder.finish()
    return out
}

/// A clock that only moves when told to, and records the sleeps asked of it.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date
    private(set) var sleeps: [TimeInterval] = []

    init(_ start: Date) { current = start }

    var now: Date { lock.withLock { current } }

    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }

    var clock: RuntimeClock {
        RuntimeClock(now: { [self] in now }, sleep: { [self] seconds in lock.withLock { sleeps.append(seconds); current += seconds } })
    }
}
