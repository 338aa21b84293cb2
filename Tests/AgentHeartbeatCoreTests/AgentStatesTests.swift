import AgentHeartbeatCore
import Testing

@Suite("A check's states, kept by column")
struct AgentStatesTests {
    let now: Int64 = 1_796_000_000_000
    let agent = MonitorConfiguration.Agent(id: "mary", name: "Mary", offlineThreshold: .seconds(60))

    /// Whatever a key holds, reading it in place gives the state a whole `AgentState` gets from
    /// the same value: the record, the missing marker, or neither.
    @Test(arguments: [
        #"{"received_at_ms":1795999990000,"payload":{"status":"ok","n":1}}"#,
        #"{"payload":{"status":"ok"},"received_at_ms":1795999000000}"#,
        #"{"received_at_ms":1795999990000,"error":"payload is not valid JSON"}"#,
        #"{"received_at_ms":1795999990000,"payload":[1]}"#,
        #"{"missing_since_ms":1795999000000}"#,
        #"{"missing_since_ms":1795999990000}"#,
        "not a record", "",
    ])
    func readsAStoredValueAsAWholeStateDoes(stored: String) {
        let value = Array(stored.utf8)
        var states = AgentStates(agents: [agent], now: now)
        value.withUnsafeBufferPointer { states.read(stored: $0, at: 0) }
        let record = HeartbeatRecord(stored: value)
        let missingSince = record == nil ? HeartbeatRecord.missingSince(stored: value) : nil
        #expect(Array(states) == [AgentState(agent: agent, record: record, missingSince: missingSince, now: now)])
    }

    @Test func noKeyIsUnknown() {
        var states = AgentStates(agents: [agent], now: now)
        #expect(states[0].status == .unknown, "before it is read")
        states.read(stored: nil, at: 0)
        #expect(Array(states) == [AgentState(agent: agent, record: nil, now: now)])
        #expect(states[0].status == .unknown)
    }

    @Test func givesBackTheStatesItWasMadeOfAndSubsetsOfThem() throws {
        let agents = (0..<4).map { MonitorConfiguration.Agent(id: "a\($0)", name: "A \($0)") }
        let whole = [
            AgentState(
                agent: agents[0],
                record: HeartbeatRecord(receivedAt: now, payload: Array(#"{"a":1}"#.utf8)),
                now: now
            ),
            AgentState(agent: agents[1], record: HeartbeatRecord(receivedAt: now - 400_000, error: "bad"), now: now),
            AgentState(agent: agents[2], record: nil, missingSince: now - 1_000, now: now),
            AgentState(agent: agents[3], record: HeartbeatRecord(receivedAt: now, payload: Array("{}".utf8)), now: now),
        ]
        let states = AgentStates(whole, now: now)
        #expect(Array(states) == whole)
        #expect(states.payloadError(at: 1) == "bad" && states.payloadError(at: 0) == nil)
        let payloads = states.withPayloads { payload in (0..<4).map { payload($0).map { Array($0) } } }
        #expect(payloads == [Array(#"{"a":1}"#.utf8), nil, nil, Array("{}".utf8)])
        let subset = states.subset([1, 3])
        #expect(Array(subset) == [whole[1], whole[3]])
        #expect(subset.agents.map(\.id) == ["a1", "a3"])
    }

    /// The checker reads agents in the map's order, not the configuration's.
    @Test func readsAgentsInAnyOrder() {
        let agents = (0..<3).map { MonitorConfiguration.Agent(id: "a\($0)", name: "A", offlineThreshold: .seconds(60)) }
        var states = AgentStates(agents: agents, now: now)
        for index in [2, 0, 1] {
            let stored = Array(#"{"received_at_ms":\#(now - Int64(index) * 100_000),"payload":{"n":\#(index)}}"#.utf8)
            stored.withUnsafeBufferPointer { states.read(stored: $0, at: index) }
        }
        #expect(states.map(\.status) == [.online, .offline, .offline])
        #expect(
            states.map { $0.payload.map { String(decoding: $0, as: UTF8.self) } } == [
                #"{"n":0}"#, #"{"n":1}"#, #"{"n":2}"#,
            ]
        )
    }
}
