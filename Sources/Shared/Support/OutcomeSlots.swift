import Synchronization

/// One slot per work item, filled by worker threads, read once all finished.
final class OutcomeSlots<Value: Sendable>: Sendable {
    private let slots: Mutex<[Value?]>

    init(count: Int) {
        slots = Mutex([Value?](repeating: nil, count: count))
    }

    func set(_ index: Int, _ value: Value) {
        slots.withLock { $0[index] = value }
    }

    /// Every value, in order (call after all `set`s).
    var all: [Value] {
        slots.withLock { $0.compactMap { $0 } }
    }
}
