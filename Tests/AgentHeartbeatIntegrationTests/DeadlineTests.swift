import Testing

@testable import AgentHeartbeat

/// `withDeadline`, which bounds every shutdown step.
@Suite("Deadlines")
struct DeadlineTests {
    /// Found running the sidecar: every final map at shutdown was reported as "Redis did not
    /// answer within 3.0 seconds", though it was written in a millisecond. Finishing, the operation
    /// cancelled the timer before handing over its result, and the cancelled timer got in first.
    @Test func anOperationThatFinishesInTimeIsNeverReportedLate() async {
        let thread = JobThread(name: "deadline-test")
        defer { thread.stop() }
        var late = 0
        // The race showed after the pool had been idle (its threads gone), as at shutdown.
        for _ in 0..<3 {
            try? await Task.sleep(for: .seconds(4))
            for _ in 0..<200 {
                // As a shutdown step does: the work on a thread of its own.
                let result = await withDeadline(.seconds(3)) { (try? await thread.run { true }) ?? false }
                if result != true { late += 1 }
            }
        }
        #expect(late == 0)
    }

    @Test func anOperationThatTakesTooLongIsAbandoned() async {
        let started = ContinuousClock.now
        let result = await withDeadline(.milliseconds(100)) { () async -> Bool in
            try? await Task.sleep(for: .seconds(30))
            return true
        }
        #expect(result == nil)
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
