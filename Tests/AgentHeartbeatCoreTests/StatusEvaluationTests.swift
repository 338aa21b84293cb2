import AgentHeartbeatCore
import Testing

@Suite("Status evaluation")
struct StatusEvaluationTests {
    let agent = MonitorConfiguration.Agent(id: "mary", name: "Mary", offlineThreshold: .seconds(300))
    let now: Int64 = 1_800_000_000_000

    func state(
        lastHeardMillisecondsAgo age: Int64?,
        payload: String? = #"{"status":"ok"}"#,
        error: String? = nil
    ) -> AgentState {
        let record = age.map {
            HeartbeatRecord(receivedAt: now - $0, payload: payload.map { Array($0.utf8) }, error: error)
        }
        return AgentState(agent: agent, record: record, now: now)
    }

    @Test func noRecordIsUnknown() {
        let state = state(lastHeardMillisecondsAgo: nil)
        #expect(state.status == .unknown)
        #expect(state.lastHeartbeat == nil)
        #expect(state.secondsSinceHeartbeat == nil)
    }

    @Test func exactlyAtTheThresholdIsOnline() {
        let state = state(lastHeardMillisecondsAgo: 300_000)
        #expect(state.status == .online)
        #expect(state.secondsSinceHeartbeat == 300)
    }

    @Test func oneMillisecondPastTheThresholdIsOffline() {
        let state = state(lastHeardMillisecondsAgo: 300_001)
        #expect(state.status == .offline)
        #expect(state.secondsSinceHeartbeat == 300)
    }

    @Test func secondsAreRoundedDown() {
        #expect(state(lastHeardMillisecondsAgo: 1_999).secondsSinceHeartbeat == 1)
        #expect(state(lastHeardMillisecondsAgo: 999).secondsSinceHeartbeat == 0)
    }

    @Test func aHeartbeatFromTheFutureCountsAsJustReceived() {
        let state = state(lastHeardMillisecondsAgo: -5_000)
        #expect(state.status == .online)
        #expect(state.secondsSinceHeartbeat == 0)
    }

    @Test func perAgentThreshold() {
        let patient = MonitorConfiguration.Agent(id: "paula", name: "Paula", offlineThreshold: .seconds(600))
        let record = HeartbeatRecord(receivedAt: now - 400_000, payload: nil)
        #expect(AgentState(agent: patient, record: record, now: now).status == .online)
        #expect(AgentState(agent: agent, record: record, now: now).status == .offline)
    }

    @Test func payloadFieldsAreRead() throws {
        let state = state(
            lastHeardMillisecondsAgo: 10,
            payload: #"{"status":"busy","timestamp":"2026-01-01T00:00:00Z","signals_sent":42}"#
        )
        let payload = try HeartbeatPayload.parse(try #require(state.payload)).get()
        #expect(state.reportedStatus == "busy")
        #expect(payload.reportedStatus == "busy")
        #expect(payload.reportedAt == .string("2026-01-01T00:00:00Z"))
        #expect(payload.metadata == ["signals_sent": .integer(42)])
        #expect(state.payloadError == nil)
    }

    @Test func recordedErrorIsShownAndTheAgentIsStillOnline() {
        let state = state(lastHeardMillisecondsAgo: 10, payload: nil, error: "payload is not valid JSON")
        #expect(state.status == .online)
        #expect(state.payloadError == "payload is not valid JSON")
        #expect(state.payload == nil)
    }
}
