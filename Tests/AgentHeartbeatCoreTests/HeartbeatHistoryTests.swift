import Testing

@testable import AgentHeartbeatCore

@Suite("Heartbeat history: failing reports, learned cadence, restarts")
struct HeartbeatHistoryTests {
    let now: Int64 = 1_800_000_000_000
    let mary = MonitorConfiguration.Agent(id: "mary", name: "Mary", offlineThreshold: .seconds(300))

    func facts(_ payload: String) -> HeartbeatFacts {
        let bytes = Array(payload.utf8)
        let usable = HeartbeatPayload.problem(with: bytes) == nil
        return bytes.withUnsafeBufferPointer { buffer in
            HeartbeatFacts(payload: buffer, usable: usable) { MonitorConfiguration().isFailing(status: $0) }
        }
    }

    @Test func factsReadTheStatusAndTheInstance() {
        #expect(facts(#"{"status":"ERROR","x":1}"#).failing)
        #expect(facts(#"{"status":"fail\u0065d"}"#).failing)  // escapes are decoded
        #expect(!facts(#"{"status":"ok"}"#).failing)
        #expect(!facts(#"{"nested":{"status":"error"}}"#).failing)  // only the top level counts
        #expect(!facts("not json").failing)
        #expect(facts(#"{"instance":"a"}"#).instanceHash != facts(#"{"instance":"b"}"#).instanceHash)
        #expect(facts(#"{"started_at":1}"#).instanceHash != nil)
        #expect(facts(#"{"status":"ok"}"#).instanceHash == nil)
        #expect(facts(#"{"a":1}"#).payloadHash == facts(#"{"a":1}"#).payloadHash)
        #expect(facts(#"{"a":1}"#).payloadHash != facts(#"{"a":2}"#).payloadHash)
        #expect(HeartbeatFacts.hex(0xabc) == Array("0000000000000abc".utf8))
    }

    @Test func historyParsesTheScriptsLayoutAndNothingElse() {
        func parse(_ text: String) -> HeartbeatHistory? {
            Array(text.utf8).withUnsafeBufferPointer { HeartbeatHistory($0) }
        }
        #expect(
            parse("7:5003:40:2:00ff:abcd:100,200")
                == HeartbeatHistory(
                    intervals: 7,
                    meanMilliseconds: 5003,
                    deviationMilliseconds: 40,
                    failing: 2,
                    hasInstance: true,
                    restarts: [100, 200]
                )
        )
        #expect(parse("0:0:0:0:00ff::") == HeartbeatHistory())
        for broken in ["", "1:2:3", "a:0:0:0:00:00:", "1:2:3:4:xyz:00:", "1:2:3:4:00:00:1,x"] {
            #expect(parse(broken) == nil, "\(broken)")
        }
        let stored = Array(
            #"{"received_at_ms":5,"beats":"6:1000:10:0:00ff::","payload":{"status":"ok"}}"#.utf8
        )
        #expect(HeartbeatRecord(stored: stored)?.history?.meanMilliseconds == 1000)
        #expect(HeartbeatRecord(stored: stored)?.payload.map { Array($0) } == Array(#"{"status":"ok"}"#.utf8))
        let failed = Array(#"{"received_at_ms":5,"beats":"0:0:0:1:00ff::","error":"payload is not valid JSON"}"#.utf8)
        #expect(HeartbeatRecord(stored: failed)?.history?.failing == 1)
    }

    func state(
        silentFor silence: Int64,
        history: HeartbeatHistory?,
        rules: AgentRules = AgentRules()
    ) -> AgentState {
        AgentState(
            agent: mary,
            rules: rules,
            record: HeartbeatRecord(receivedAt: now - silence, history: history),
            now: now
        )
    }

    @Test func failingAfterTheConfiguredNumberOfReports() {
        var rules = AgentRules()
        rules.failingAfterHeartbeats = 3
        #expect(state(silentFor: 0, history: HeartbeatHistory(failing: 2), rules: rules).condition == .online)
        #expect(state(silentFor: 0, history: HeartbeatHistory(failing: 3), rules: rules).condition == .failing)
        #expect(state(silentFor: 0, history: HeartbeatHistory(failing: 1)).condition == .failing)
        // Silent past the threshold, a failing agent is offline: silence outranks what it said last.
        let gone = state(silentFor: 301_000, history: HeartbeatHistory(failing: 5))
        #expect(gone.condition == .offline && gone.status == .offline)
    }

    @Test func lateByTheLearnedCadence() {
        let learned = HeartbeatHistory(intervals: 5, meanMilliseconds: 5000, deviationMilliseconds: 500)
        // Late after max(mean + 4 deviations, 2 means) = 10 s.
        #expect(learned.lateAfterMilliseconds == 10_000)
        #expect(state(silentFor: 10_000, history: learned).condition == .online)
        let late = state(silentFor: 10_001, history: learned)
        #expect(late.condition == .late && late.status == .online)
        #expect(late.evaluation.expectedInterval == 5000 && late.evaluation.lateAfter == 10_000)
        let jittery = HeartbeatHistory(intervals: 9, meanMilliseconds: 5000, deviationMilliseconds: 2000)
        #expect(jittery.lateAfterMilliseconds == 13_000)
        // Still learning: never late by cadence.
        var learning = learned
        learning.intervals = 4
        #expect(state(silentFor: 200_000, history: learning).condition == .online)
        #expect(state(silentFor: 200_000, history: learning).evaluation.expectedInterval == 0)
    }

    @Test func anExplicitLimitOutranksTheCadenceAndNeedsNoHistory() {
        var rules = AgentRules()
        rules.lateAfter = .seconds(60)
        let learned = HeartbeatHistory(intervals: 50, meanMilliseconds: 5000)
        #expect(state(silentFor: 30_000, history: learned, rules: rules).condition == .online)
        #expect(state(silentFor: 61_000, history: learned, rules: rules).condition == .late)
        #expect(state(silentFor: 61_000, history: nil, rules: rules).condition == .late)
    }

    @Test func flappingCountsRestartsInTheWindow() {
        var rules = AgentRules()
        rules.maxRestarts = 2
        rules.restartWindow = .seconds(600)
        let restarts = [now - 700_000, now - 500_000, now - 300_000, now - 100_000]
        let history = HeartbeatHistory(hasInstance: true, restarts: restarts)
        let flapping = state(silentFor: 0, history: history, rules: rules)
        #expect(flapping.condition == .flapping && flapping.evaluation.restarts == 3)
        rules.maxRestarts = 3
        #expect(state(silentFor: 0, history: history, rules: rules).condition == .online)
        // Without an instance in the heartbeats, restarts are not counted (-1: not shown).
        #expect(state(silentFor: 0, history: HeartbeatHistory()).evaluation.restarts == -1)
    }

    @Test func listeningGapsExcuseLateness() {
        let learned = HeartbeatHistory(intervals: 5, meanMilliseconds: 5000)
        var states = AgentStates([state(silentFor: 15_000, history: learned)], now: now)
        #expect(states.evaluations[0].condition == .late)
        ListeningGaps(closed: [(now - 12_000)..<(now - 4_000)]).discounting(&states)
        #expect(states.evaluations[0].condition == .online)
    }
}
