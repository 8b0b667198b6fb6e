/// An error of cloudspool: what went wrong, in words an operator can act on.
///
/// Every failure that reaches an operator is one of these. `code` says which
/// part of the pipeline failed, `message` says what happened and what to do,
/// and `underlying` keeps the lower-level cause (a CURLcode, a zlib code, an
/// errno) for the log. Messages never contain credentials.
public struct CloudspoolError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The part of the pipeline an error comes from.
    public enum Code: String, Sendable, Equatable {
        case configuration
        case credentials
        case http
        case aws
        case index
        case spool
        case decompression
        case format
        /// A monitoring system (livestatus, OP5 API) could not be read.
        case monitoring
        /// The stage was asked to stop (SIGTERM) and stopped at a safe point.
        case stopped
    }

    public let code: Code
    public let message: String
    public let underlying: String?

    public init(_ code: Code, _ message: String, underlying: String? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }

    /// The exit status a stage should report when it stops on this error.
    public var exit: StageExit {
        switch code {
        case .configuration: return .usage
        case .stopped: return .terminated
        default: return .failure
        }
    }
}
