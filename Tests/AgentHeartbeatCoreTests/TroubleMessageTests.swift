import Testing

@testable import AgentHeartbeatCore

@Suite("Messages for failing, flapping, late agents and groups")
struct TroubleMessageTests {
    let now: Int64 = 1_800_000_000_000

    func event(_ state: AgentState, _ trouble: AlertPolicy.Trouble) -> AlertPolicy.Event {
        AlertPolicy.Event(
            kind: .alert,
            trouble: trouble,
            subject: .agent(state),
            recordAfterDelivery: AlertRecord(alerted: true, lastNotified: now, lastSeen: nil, trouble: trouble)
        )
    }

    func failing(_ id: String, payload: String, dependents: Int = 0) -> AgentState {
        let agent = MonitorConfiguration.Agent(id: id, name: "N<&>" + String(repeating: "é", count: 300))
        var state = AgentState(
            agent: agent,
            record: HeartbeatRecord(
                receivedAt: now,
                payload: Array(payload.utf8),
                history: HeartbeatHistory(failing: 4)
            ),
            now: now
        )
        state.affected = (0..<dependents).map {
            MonitorConfiguration.Agent(id: String(repeating: "d", count: 200) + "\($0)", name: "D")
        }
        return state
    }

    @Test func aFailingAlertSaysWhatTheAgentReported() {
        let state = failing("mary", payload: #"{"status":"Error","message":"disk <full> & more","error":"ignored"}"#)
        #expect(state.condition == .failing)
        let block = AlertMessage.block(for: event(state, .failing))
        #expect(block.contains("Status: failing\nReported status: Error\nMessage: disk &lt;full&gt; &amp; more"))
        #expect(!block.contains("ignored") && block.contains("Failing for: 4 heartbeats"))
        let errorOnly = failing("mary", payload: #"{"status":"down","error":"no route"}"#)
        #expect(AlertMessage.block(for: event(errorOnly, .failing)).contains("Error: no route"))
    }

    @Test func hostileReportsAndManyDependentsStillFitOneMessage() {
        let hostile = String(repeating: "<&>", count: 2000)
        var events: [AlertPolicy.Event] = []
        for index in 0..<20 {
            let payload = #"{"status":"\#(hostile)","message":"\#(hostile)"}"#
            events.append(event(failing("agent-\(index)", payload: payload, dependents: 40), .failing))
        }
        let messages = AlertMessage.render(events, now: now)
        #expect(messages.flatMap(\.events).count == 20)
        for message in messages { #expect(message.text.utf16.count <= AlertMessage.maximumLength) }
        let block = AlertMessage.block(for: events[0])
        #expect(block.contains("40 dependent agents affected") && block.contains("and 30 more"))
        #expect(!block.contains("<&>") && block.contains("&lt;&amp;&gt;"))
    }

    @Test func flappingAndLateSayWhy() {
        var rules = AgentRules()
        rules.maxRestarts = 2
        let restarts = HeartbeatHistory(hasInstance: true, restarts: [now - 60_000, now - 30_000, now - 1000])
        let flapping = AgentState(
            agent: .init(id: "mary", name: "Mary"),
            rules: rules,
            record: HeartbeatRecord(receivedAt: now, history: restarts),
            now: now
        )
        #expect(AlertMessage.block(for: event(flapping, .flapping)).contains("Restarts: 3 in 10m (at most 2)"))
        let cadence = HeartbeatHistory(intervals: 10, meanMilliseconds: 2500, deviationMilliseconds: 100)
        let late = AgentState(
            agent: .init(id: "mary", name: "Mary"),
            record: HeartbeatRecord(receivedAt: now - 12_000, history: cadence),
            now: now
        )
        #expect(AlertMessage.block(for: event(late, .late)).contains("Silent for: 12s (expected every 2.5s)"))
        #expect(AlertMessage.headline(of: [event(late, .late), event(flapping, .flapping)]) == "2 alerts")
    }
}
