#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A request to stop (SIGTERM, what cron daemons and systemd send), checked by
/// the stages at safe points: between objects, files, raw runs and bulk
/// batches. Work in progress is left in `.incoming/` (cleared by the next run)
/// and checkpoints only cover what was finished, so the next run continues.
public enum StopRequest {
    private static let requested = Atomic<Bool>(false)

    /// Turns SIGTERM (and SIGINT, Ctrl-C) into a stop request instead of an immediate death.
    public static func installHandlers() {
        signal(SIGTERM) { _ in StopRequest.requested.store(true, ordering: .relaxed) }
        signal(SIGINT) { _ in StopRequest.requested.store(true, ordering: .relaxed) }
    }

    public static var isRequested: Bool { requested.load(ordering: .relaxed) }

    /// Throws when a stop was requested: call where stopping loses nothing.
    public static func checkpoint(_ what: @autoclosure () -> String = "") throws {
        guard isRequested else { return }
        let at = what()
        throw CloudspoolError(.stopped, "stopped by SIGTERM at a safe point\(at.isEmpty ? "" : " (\(at))"); nothing finished is lost, the next run continues")
    }
}
