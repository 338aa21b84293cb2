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

@Suite("Stored heartbeat records")
struct HeartbeatRecordTests {
    @Test func readsWhatTheMirrorStores() throws {
        let payload = Array(#"{"status":"ok"}"#.utf8)
        let stored =
            #"{"received_at_ms":1796000000000,"#
            + String(decoding: HeartbeatRecord.storedFields(payload: payload, problem: nil), as: UTF8.self) + "}"
        let record = try #require(HeartbeatRecord(stored: Array(stored.utf8)))
        #expect(record == HeartbeatRecord(receivedAt: 1_796_000_000_000, payload: payload))
    }

    @Test func readsARecordedProblem() throws {
        let fields = HeartbeatRecord.storedFields(payload: [], problem: .notJSON)
        let record = try #require(
            HeartbeatRecord(stored: Array(#"{"received_at_ms":5,"#.utf8) + fields + [UInt8(ascii: "}")])
        )
        #expect(record.error == "payload is not valid JSON")
        #expect(record.payload == nil)
    }

    @Test(arguments: [#"{"received_at_ms":5,"payload":[1]}"#, #"{"received_at_ms":5,"payload":"x"}"#])
    func aPayloadThatIsNotAnObjectIsAnError(stored: String) throws {
        let record = try #require(HeartbeatRecord(stored: Array(stored.utf8)))
        #expect(record.error == "payload is JSON but not an object")
    }

    @Test(arguments: [
        "", "not json", "[]", #"{"payload":{}}"#, #"{"received_at_ms":"soon"}"#, #"{"received_at_ms":1.5}"#,
    ])
    func somethingElseIsNotARecord(stored: String) {
        #expect(HeartbeatRecord(stored: Array(stored.utf8)) == nil)
    }
}

@Suite("Heartbeat payloads")
struct HeartbeatPayloadTests {
    @Test func objectWithoutStatus() throws {
        let payload = try HeartbeatPayload.parse(Array(#"{"queue":[1,2],"ok":true,"load":0.5,"x":null}"#.utf8)).get()
        #expect(payload.reportedStatus == nil)
        #expect(
            payload.metadata == [
                "queue": .array([.integer(1), .integer(2)]), "ok": .bool(true), "load": .number(0.5), "x": .null,
            ]
        )
    }

    @Test func nonTextStatusStaysInMetadata() throws {
        let payload = try HeartbeatPayload.parse(Array(#"{"status":3}"#.utf8)).get()
        #expect(payload.reportedStatus == nil)
        #expect(payload.metadata == ["status": .integer(3)])
    }

    @Test(arguments: [
        (Array("not json".utf8), HeartbeatPayload.Problem.notJSON),
        (Array("[1,2,3]".utf8), .notAnObject),
        (Array("\"ok\"".utf8), .notAnObject),
        ([0xFF, 0xFE, 0x00, 0x7B], .notJSON),
        ([], .notJSON),
        (Array(repeating: UInt8(ascii: " "), count: 65_537), .tooLarge(bytes: 65_537)),
    ])
    func problems(bytes: [UInt8], problem: HeartbeatPayload.Problem) {
        #expect(HeartbeatPayload.parse(bytes) == .failure(problem))
    }

    @Test func exactlyTheLimitIsAccepted() throws {
        let padding = String(repeating: " ", count: HeartbeatPayload.maximumSize - 2)
        #expect(throws: Never.self) { try HeartbeatPayload.parse(Array("{\(padding)}".utf8)).get() }
    }
}
