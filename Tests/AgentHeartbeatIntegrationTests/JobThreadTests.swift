import AgentHeartbeat
import Foundation
import NIOConcurrencyHelpers
import Testing

/// The one way blocking work runs (`JobThread`): off the cooperative pool, in order, and a job
/// cancelled before its turn never runs.
@Suite("Job threads")
struct JobThreadTests {
    @Test func runsJobsInOrderOnItsOwnThread() async throws {
        let thread = JobThread(name: "job-thread-test")
        let order = NIOLockedValueBox<[Int]>([])
        async let first: String? = thread.run {
            Thread.sleep(forTimeInterval: 0.05)
            order.withLockedValue { $0.append(1) }
            // The name the kernel knows (top -H, gdb).
            return try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
        }
        try await Task.sleep(for: .milliseconds(10))
        async let second: Void = thread.run { order.withLockedValue { $0.append(2) } }
        let name = try await first
        try await second
        #expect(name == "job-thread-test\n")
        #expect(order.withLockedValue { $0 } == [1, 2])
    }

    @Test func aJobCancelledBeforeItsTurnNeverRuns() async throws {
        let thread = JobThread(name: "job-thread-test")
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let ran = NIOLockedValueBox(false)
        let blocking = Task {
            try await thread.run {
                started.signal()
                release.wait()
            }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                started.wait()
                continuation.resume()
            }
        }
        let queued = Task { try await thread.run { ran.withLockedValue { $0 = true } } }
        queued.cancel()
        await #expect(throws: CancellationError.self) { try await queued.value }
        release.signal()
        try await blocking.value
        // Everything queued before this job has had its turn.
        try await thread.run {}
        #expect(!ran.withLockedValue { $0 })
    }

    @Test func aStoppedThreadRefusesNewJobs() async throws {
        let thread = JobThread(name: "job-thread-test")
        try await thread.run {}
        thread.stop()
        await #expect(throws: CancellationError.self) { try await thread.run {} }
    }
}
