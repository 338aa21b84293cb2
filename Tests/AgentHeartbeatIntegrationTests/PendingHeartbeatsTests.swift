import Testing

@testable import AgentHeartbeat

/// Since when heartbeats wait to be stored: what a check discounts as unheard
/// (`HeartbeatChecker.check(writingMapTo:mirror:)`) and what makes a replica degraded.
@Suite("Pending heartbeats: since when they wait")
struct PendingHeartbeatsTests {
    let start = ContinuousClock.now

    func heartbeat(_ slot: Int, at seconds: Int) -> PendingHeartbeats.Heartbeat {
        .init(slot: slot, agentID: "agent-\(slot)", fields: [], arrived: start + .seconds(seconds))
    }

    @Test func theEarliestUnstoredArrivalUntilEverythingIsStored() {
        let pending = PendingHeartbeats()
        #expect(pending.unstoredSince == nil)
        pending.add([heartbeat(1, at: 1), heartbeat(2, at: 1)])
        pending.add([heartbeat(1, at: 2)])  // replaces agent 1's: still unstored since 1
        #expect(pending.unstoredSince == start + .seconds(1))

        let batch = pending.take(limit: 10)
        #expect(batch.count == 2)
        #expect(pending.unstoredSince == start + .seconds(1), "in flight is not stored")
        pending.add([heartbeat(3, at: 5)])
        #expect(pending.unstoredSince == start + .seconds(1))
        pending.done()
        #expect(pending.unstoredSince == start + .seconds(5))
        _ = pending.take(limit: 10)
        pending.done()
        #expect(pending.unstoredSince == nil)
    }

    @Test func aFailedWriteKeepsItsArrivalAndAPartialTakeKeepsTheRest() {
        let pending = PendingHeartbeats()
        pending.add([heartbeat(1, at: 1)])
        let batch = pending.take(limit: 10)
        pending.add([heartbeat(2, at: 4)])
        pending.putBack(batch)
        pending.done()
        #expect(pending.unstoredSince == start + .seconds(1), "put back: waiting since it arrived")

        _ = pending.take(limit: 1)
        pending.done()
        #expect(pending.unstoredSince == start + .seconds(1), "one still waits; no earlier arrival is forgotten")
        _ = pending.take(limit: 1)
        pending.done()
        #expect(pending.unstoredSince == nil)
    }

    @Test func aLongBacklogMakesTheReplicaDegraded() {
        var snapshot = MirrorStatistics().snapshot
        snapshot.isListening = true
        snapshot.subscribedChannels = 1
        snapshot.expectedChannels = 1
        snapshot.unstoredFor = .milliseconds(9_900)
        #expect(snapshot.degradedReason == nil)
        snapshot.unstoredFor = .seconds(12)
        #expect(snapshot.degradedReason == "heartbeats received 12 s ago are not stored yet")
    }
}
