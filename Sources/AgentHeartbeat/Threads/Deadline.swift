import NIOConcurrencyHelpers

/// Waits for `operation` at most `timeout`: its result, or nil when the time ran out first. The
/// operation then goes on unobserved, since a blocking C call (hiredis, curl) cannot be stopped
/// from outside. For shutdown steps, which must end in bounded time whatever Redis does.
func withDeadline<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async -> T) async -> T? {
    let slot = ContinuationSlot<T?>()
    return await withCheckedContinuation { continuation in
        slot.set(continuation)
        let timer = Task {
            // Cancelled means the operation finished: only a sleep that ran out reports late.
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            slot.resume(returning: nil)
        }
        Task {
            let value = await operation()
            // The value first: cancelled first, the timer could get in before it.
            slot.resume(returning: value)
            timer.cancel()
        }
    }
}

/// A continuation resumed by whichever side comes first; later resumes do nothing.
private final class ContinuationSlot<T: Sendable>: Sendable {
    private let continuation = NIOLockedValueBox<CheckedContinuation<T, Never>?>(nil)

    func set(_ value: CheckedContinuation<T, Never>) { continuation.withLockedValue { $0 = value } }

    func resume(returning value: T) { continuation.withLockedValue { $0.take() }?.resume(returning: value) }
}
