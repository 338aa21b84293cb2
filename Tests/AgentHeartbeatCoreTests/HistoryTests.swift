import AgentHeartbeatCore
import Testing

@Suite("History and uptime")
struct HistoryTests {
    let now: Int64 = 1_800_000_000_000
    let hour: Int64 = 3_600_000
    let day: Int64 = 86_400_000

    /// Monitoring began 10 days ago. Offline 3 days ago for 1 h 2 min 3 s; silenced 2 days ago for
    /// 2 h (down meanwhile: silenced counts apart); failing 20 h ago for 10 min; late 1 h ago for
    /// 59 s; online since.
    var timeline: [StateChange] {
        let offlineAt = now - 3 * day
        let silencedAt = now - 2 * day
        let failingAt = now - 20 * hour
        return [
            StateChange(at: now - 10 * day, from: nil, to: .unknown, reason: "no heartbeat on record"),
            StateChange(at: now - 10 * day + 4_000, from: .unknown, to: .online, reason: "heartbeat received"),
            StateChange(at: offlineAt, from: .online, to: .offline, reason: "no heartbeat"),
            StateChange(at: offlineAt + hour + 123_000, from: .offline, to: .online, reason: "heartbeat received"),
            StateChange(at: silencedAt, from: .online, to: .silenced, reason: "silenced: deploy"),
            StateChange(at: silencedAt + 2 * hour, from: .silenced, to: .online, reason: "heartbeat received"),
            StateChange(at: failingAt, from: .online, to: .failing, reason: "failing"),
            StateChange(at: failingAt + 600_000, from: .failing, to: .online, reason: "heartbeat received"),
            StateChange(at: now - hour, from: .online, to: .late, reason: "late"),
            StateChange(at: now - hour + 59_000, from: .late, to: .online, reason: "heartbeat received"),
        ]
    }

    @Test func uptimeOfAScriptedTimelineIsExactToTheMillisecond() {
        let day = Uptime(changes: timeline, window: day, now: now)
        #expect(day.down == 600_000)
        #expect(day.up == self.day - 600_000)
        #expect(day.silenced == 0)
        #expect(day.ratio == Double(self.day - 600_000) / Double(self.day))

        let week = Uptime(changes: timeline, window: 7 * self.day, now: now)
        #expect(week.down == hour + 123_000 + 600_000)
        #expect(week.silenced == 2 * hour)
        #expect(week.up == 7 * self.day - week.down - week.silenced)
        #expect(week.monitored == 7 * self.day - 2 * hour)

        // The window reaches before monitoring began: that time is unknown, not down.
        let month = Uptime(changes: timeline, window: 30 * self.day, now: now)
        #expect(month.unknown == 20 * self.day + 4_000)
        #expect(month.down == week.down)
        #expect(month.silenced == week.silenced)
        #expect(month.up == 10 * self.day - 4_000 - month.down - month.silenced)
    }

    @Test func aWindowAfterTheLastChangeHoldsItsStateThroughout() {
        let changes = [StateChange(at: now - 40 * day, from: .online, to: .offline, reason: "")]
        let uptime = Uptime(changes: changes, window: day, now: now)
        #expect(uptime.down == day)
        #expect(uptime.ratio == 0)
        #expect(Uptime(changes: [], window: day, now: now).ratio == nil)
    }

    @Test func changesDatedOutsideTheWindowAreClamped() {
        // A change stamped after `now` (another replica's clock ran ahead) ends at now.
        let changes = [
            StateChange(at: now - 2 * hour, from: nil, to: .online, reason: ""),
            StateChange(at: now + 5_000, from: .online, to: .offline, reason: ""),
        ]
        let uptime = Uptime(changes: changes, window: day, now: now)
        #expect(uptime.up == 2 * hour)
        #expect(uptime.down == 0)
    }

    @Test func thePartsAlwaysAddUpToTheWindow() {
        // Out of order (not what a stream holds, but whatever the input): nothing is counted twice.
        let changes = [
            StateChange(at: now - 2 * hour, from: nil, to: .online, reason: ""),
            StateChange(at: now - 5 * hour, from: .online, to: .offline, reason: ""),
            StateChange(at: now - hour, from: .offline, to: .silenced, reason: ""),
        ]
        let uptime = Uptime(changes: changes, window: day, now: now)
        #expect(uptime.up + uptime.down + uptime.silenced + uptime.unknown == day)
        #expect(uptime.silenced == hour)
        #expect(uptime.down == hour)
    }

    func evaluation(heardAgo: Int64?, threshold: Int64 = 60_000) -> AgentState.Evaluation {
        AgentState.Evaluation(threshold: threshold, receivedAt: heardAgo.map { now - $0 }, now: now)
    }

    @Test func anOfflineAgentBecameOfflineOneThresholdAfterItsLastHeartbeat() {
        let observed = HistoryObservation(
            evaluation(heardAgo: 95_000),
            threshold: 60_000,
            failingAfter: 1,
            silence: nil,
            now: now
        )
        #expect(observed.state == .offline)
        #expect(observed.since == now - 35_000)
        #expect(observed.reason == "no heartbeat for more than 60s (its offline threshold)")
        let online = HistoryObservation(
            evaluation(heardAgo: 5_000),
            threshold: 60_000,
            failingAfter: 1,
            silence: nil,
            now: now
        )
        #expect(online.state == .online)
        #expect(online.since == now - 5_000)
    }

    @Test func aSilenceOutranksTheConditionAndBeginsAtTheCheck() {
        let observed = HistoryObservation(
            evaluation(heardAgo: 95_000),
            threshold: 60_000,
            failingAfter: 1,
            silence: Assessment.Silencing(until: now + hour, reason: "deploy"),
            now: now
        )
        #expect(observed == HistoryObservation(state: .silenced, since: now, reason: "silenced: deploy"))
    }

    @Test func listEntriesReadBack() {
        let entry = StateChange.entry(at: now, seen: now + 5, from: .online, to: .offline, reason: "a|b <c>")
        #expect(entry == "1800000000000|1800000000005|online|offline|a|b <c>")
        #expect(StateChange(entry: entry) == StateChange(at: now, from: .online, to: .offline, reason: "a|b <c>"))
        #expect(StateChange(entry: "1800000000000|1|||") == nil)
        #expect(StateChange(entry: "1800000000000|1||online|first")?.from == nil)
        #expect(StateChange(entry: "1800000000000|1|asleep|online|") == nil)
        #expect(StateChange(entry: "x|1||online|") == nil)
    }
}
