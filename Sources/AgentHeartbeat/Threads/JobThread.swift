internal import CGlibc
import Foundation
import NIOConcurrencyHelpers

/// The one way the sidecar runs blocking work (hiredis, curl, file I/O): a long-lived thread that
/// runs submitted jobs one at a time, in order. Swift's cooperative pool (2 threads here) must never
/// block, and a hiredis context must only ever be used from one thread: a connection lives in the
/// jobs of one `JobThread` (asserted in debug builds, see `RedisConnection`).
///
/// Jobs are `@Sendable`, so the compiler checks what crosses to the thread. A job cancelled while it
/// waits in the queue never runs and throws `CancellationError`; one already running finishes
/// (a blocking C call cannot be interrupted from outside; curl's transfers check `HTTPClient.Abort`).
public final class JobThread: Sendable {
    private let queue = JobQueue()

    public init(name: String) {
        // The thread holds the queue, not `self`: it ends when its owner is gone (`deinit`).
        let thread = Thread { [queue] in
            cglibc_name_this_thread(name)
            queue.runJobs()
        }
        thread.start()
    }

    deinit { queue.stop() }

    /// Runs `body` on a new thread of its own, then ends that thread: for a loop that lives as long
    /// as a service (the mirror's subscriber and writer) or a one-off command.
    public static func run<T: Sendable>(
        named name: String,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await JobThread(name: name).run(body)
    }

    /// Runs `body` on this thread after the jobs queued before it, and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let job = QueuedJob<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard job.wait(continuation) else { return }
                let queued = queue.add {
                    job.start().map { continuation in continuation.resume(with: Result { try body() }) }
                }
                if !queued { job.cancel() }
            }
        } onCancel: {
            job.cancel()
        }
    }

    /// Lets queued jobs finish, then ends the thread. Jobs submitted afterwards throw `CancellationError`.
    public func stop() { queue.stop() }
}

private final class JobQueue: @unchecked Sendable {  // All mutable state is guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var isStopped = false

    /// False once stopped.
    func add(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !isStopped else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    func stop() {
        condition.lock()
        isStopped = true
        condition.signal()
        condition.unlock()
    }

    func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty && !isStopped { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}

/// One job's continuation, resumed exactly once: by the thread that runs the job, or by a
/// cancellation that comes before the job started.
private final class QueuedJob<T: Sendable>: Sendable {
    private enum State {
        case submitting
        case queued(CheckedContinuation<T, any Error>)
        case started
        case cancelled
    }

    private let state = NIOLockedValueBox(State.submitting)

    /// Keeps the continuation for the thread; false (and resumed) when cancelled before.
    func wait(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        let cancelled = state.withLockedValue { state in
            guard case .submitting = state else { return true }
            state = .queued(continuation)
            return false
        }
        if cancelled { continuation.resume(throwing: CancellationError()) }
        return !cancelled
    }

    /// The continuation, if the job is to run.
    func start() -> CheckedContinuation<T, any Error>? {
        state.withLockedValue { state in
            guard case .queued(let continuation) = state else { return nil }
            state = .started
            return continuation
        }
    }

    func cancel() {
        let continuation = state.withLockedValue { state -> CheckedContinuation<T, any Error>? in
            switch state {
            case .submitting:
                state = .cancelled
                return nil
            case .queued(let continuation):
                state = .cancelled
                return continuation
            case .started, .cancelled:
                return nil
            }
        }
        continuation?.resume(throwing: CancellationError())
    }
}
