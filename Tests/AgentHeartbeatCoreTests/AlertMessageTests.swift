import Testing

@testable import AgentHeartbeatCore

@Suite("Alert messages")
struct AlertMessageTests {
    let now: Int64 = 1_800_000_000_000

    func offlineEvent(_ agent: MonitorConfiguration.Agent) -> AlertPolicy.Event {
        let state = AgentState(agent: agent, record: HeartbeatRecord(receivedAt: now - 372_000), now: now)
        return AlertPolicy(cooldown: .seconds(60)).events(states: [state], records: [:], now: now)[0]
    }

    @Test func singleAlertKeepsTheOriginalContent() {
        let messages = AlertMessage.render(
            [offlineEvent(.init(id: "mary", name: "Mary", offlineThreshold: .seconds(300)))],
            now: now
        )
        #expect(
            messages.map(\.text) == [
                """
                🔴 <b>Agent offline</b>

                <b>Mary</b> (<code>mary</code>)
                Status: offline
                Last heartbeat: 2027-01-15T07:53:48.000Z
                Offline for: 6m 12s (threshold 5m)

                Time: 2027-01-15T08:00:00.000Z
                """
            ]
        )
    }

    @Test func agentTextIsEscapedForHTML() {
        let name = #"_ * [ ] ( ) ~ ` > # + - = | { } . ! < > & \ m_a_r_y"#
        let html = AlertMessage.render([offlineEvent(.init(id: "odd_id-1", name: name))], now: now)[0].text
        #expect(
            html.contains(
                #"<b>_ * [ ] ( ) ~ ` &gt; # + - = | { } . ! &lt; &gt; &amp; \ m_a_r_y</b> (<code>odd_id-1</code>)"#
            )
        )
    }

    @Test func messagesStayWithinTelegramsLimit() {
        let agents = (0..<200).map {
            MonitorConfiguration.Agent(id: "agent-\($0)", name: String(repeating: "&", count: 150) + "\($0)")
        }
        let messages = AlertMessage.render(agents.map(offlineEvent), now: now)
        #expect(messages.count > 1)
        #expect(messages.allSatisfy { $0.text.utf16.count <= AlertMessage.maximumLength })
        #expect(messages.flatMap(\.events).count == 200)
    }

    /// Found in issue 9: a 4,210-character status or a 4,100-character id made a message Telegram
    /// refuses forever. Every message now fits, whatever the agents send.
    @Test func everyMessageFitsTelegramsLimitWhateverTheAgentsSend() {
        let now: Int64 = 1_800_000_000_000
        let hostile = String(repeating: "&<>😀e\u{301}", count: 1000)
        var events: [AlertPolicy.Event] = []
        for index in 0..<30 {
            let agent = MonitorConfiguration.Agent(
                id: String(repeating: "x", count: 4100) + "\(index)",
                name: hostile,
                offlineThreshold: .seconds(60)
            )
            let payload = Array(#"{"status":"\#(String(repeating: "&", count: 4210))"}"#.utf8)
            let online = AgentState(agent: agent, record: HeartbeatRecord(receivedAt: now, payload: payload), now: now)
            let offline = AgentState(
                agent: agent,
                record: HeartbeatRecord(receivedAt: now - 600_000, payload: payload),
                now: now
            )
            let record = AlertRecord(alerted: true, lastNotified: 0, lastSeen: now - 700_000)
            events.append(
                .init(
                    kind: .recovery,
                    trouble: .offline,
                    subject: .agent(online),
                    lastSeenBefore: now - 700_000,
                    recordAfterDelivery: record
                )
            )
            events.append(
                .init(kind: .alert, trouble: .offline, subject: .agent(offline), recordAfterDelivery: record)
            )
        }
        let messages = AlertMessage.render(events, now: now)
        #expect(messages.flatMap(\.events).count == events.count)
        for message in messages { #expect(message.text.utf16.count <= AlertMessage.maximumLength) }
        #expect(messages.contains { $0.text.contains("Reported status: &amp;&amp;") && $0.text.contains("…") })
    }

    @Test func anAgentWithoutARecordIsUnknownForOneThresholdThenOffline() {
        let agent = MonitorConfiguration.Agent(id: "lost", name: "Lost", offlineThreshold: .seconds(60))
        let since: Int64 = 1_800_000_000_000
        let fresh = AgentState(agent: agent, record: nil, missingSince: since, now: since + 60_000)
        #expect(fresh.status == .unknown)
        let late = AgentState(agent: agent, record: nil, missingSince: since, now: since + 60_001)
        #expect(late.status == .offline)
        #expect(late.lastHeartbeat == nil && late.secondsSinceHeartbeat == nil && late.secondsSilent == 60)
        #expect(AgentState(agent: agent, record: nil, now: since).status == .unknown)
        let events = AlertPolicy(cooldown: .seconds(600)).events(states: [late], records: [:], now: since + 60_001)
        #expect(events.map(\.kind) == [.alert])
        let block = AlertMessage.block(for: events[0])
        #expect(block.contains("Last heartbeat: none since monitoring began at 2027-01-15T08:00:00.000Z"))
        #expect(HeartbeatRecord.missingSince(stored: HeartbeatRecord.missingMarker(since: since)) == since)
        #expect(HeartbeatRecord(stored: HeartbeatRecord.missingMarker(since: since)) == nil)
    }

    @Test func serverClockPinsTheMidpointOfTheRoundTrip() {
        let sent = ContinuousClock.now
        let clock = ServerClock(serverMilliseconds: 1_000_000, sent: sent, received: sent + .milliseconds(10))
        #expect(clock.milliseconds(at: sent + .milliseconds(5)) == 1_000_000)
        #expect(clock.milliseconds(at: sent - .seconds(3)) == 996_995)
    }

    /// Silence counts only while somebody listened: time in a listening gap is not held against an agent.
    @Test func silenceInAListeningGapIsNotCounted() {
        let agent = MonitorConfiguration.Agent(id: "a", name: "A", offlineThreshold: .seconds(10))
        let now: Int64 = 1_000_000
        func state(lastHeartbeat: Int64) -> AgentState {
            AgentState(
                agent: agent,
                record: HeartbeatRecord(receivedAt: lastHeartbeat, payload: Array("{}".utf8)),
                now: now
            )
        }
        let gaps = ListeningGaps(closed: [Int64.min..<(now - 8_000), (now - 5_000)..<(now - 4_000)])
        #expect(gaps.unheard(from: now - 30_000, to: now) == 23_000)
        // Silent 30 s, of which 7 s were heard: not yet offline. Silent 20 s after the start: offline.
        var states = AgentStates([state(lastHeartbeat: now - 30_000), state(lastHeartbeat: now - 3_000)], now: now)
        gaps.discounting(&states)
        #expect(states.map(\.status) == [.unknown, .online])
        var later = AgentStates([state(lastHeartbeat: now - 30_000)], now: now)
        ListeningGaps(closed: [Int64.min..<(now - 20_000)]).discounting(&later)
        #expect(later.map(\.status) == [.offline])
        var open = AgentStates([state(lastHeartbeat: now - 30_000)], now: now)
        ListeningGaps(open: now - 25_000).discounting(&open, at: [0])
        #expect(open.map(\.status) == [.unknown], "an open gap holds too")
    }
}
