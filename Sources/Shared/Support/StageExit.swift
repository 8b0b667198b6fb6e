/// The exit status of a stage run, as cron and monitoring see it.
///
/// The numbers are part of the operator contract (see `spool/README.md`).
public enum StageExit: Int32, Sendable, CaseIterable {
    /// The run did all its work, or another copy is already running.
    case success = 0
    /// Work is left undone (a peer was unreachable, retries were exhausted); the next run continues.
    case failure = 1
    /// The configuration or the command line is wrong; nothing was done.
    case usage = 2
    /// The run finished, but some input was quarantined or some documents were dead-lettered.
    case partial = 3
    /// Stopped by SIGTERM at a safe point (128 + 15, as a shell reports a terminated program); the next run continues.
    case terminated = 143
}
