import Synchronization

/// The lowest index at which work on several threads failed, so that work
/// after it can be skipped while the work before it (whose failure, if any,
/// would be the one to report) still runs: the error reported is then the
/// same whatever the number of threads.
final class LowestIndex: Sendable {
    private let lowest = Mutex<Int?>(nil)

    /// Records a failure at `index`.
    func offer(_ index: Int) {
        lowest.withLock { value in value = min(value ?? index, index) }
    }

    /// Whether a failure was recorded below `index`.
    func isBelow(_ index: Int) -> Bool {
        lowest.withLock { value in value.map { $0 < index } ?? false }
    }
}
