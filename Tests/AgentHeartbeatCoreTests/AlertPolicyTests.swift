import Testing

@testable import AgentHeartbeatCore

@Suite("Alert policy")
struct AlertPolicyTests {
    let policy = AlertPolicy(cooldown: .seconds(1800))
    let mary = MonitorConfiguration.Agent(id: "mary", name: "Mary", offlineThreshold: .seconds(300))
    let start: Int64 = 1_800_000_000_000

    func state(
        _ status: AgentStatus,
        at now: Int64,
        lastHeartbeat: Int64? = nil,
        agent: MonitorConfiguration.Agent? = nil
    ) -> AgentState {
        let agent = agent ?? mary
        switch status {
        case .unknown: return AgentState(agent: agent, record: nil, now: now)
        case .online:
            return AgentState(agent: agent, record: HeartbeatRecord(receivedAt: lastHeartbeat ?? now), now: now)
        case .offline:
            return AgentState(
                agent: agent,
                record: HeartbeatRecord(receivedAt: lastHeartbeat ?? now - 400_000),
                now: now
            )
        }
    }

    /// Runs the policy over a timeline, applying each event's record as if delivered.
    func run(_ timeline: [(Int64, AgentStatus)], lastHeartbeat: Int64? = nil) -> [(Int64, AlertPolicy.Event.Kind)] {
        var records: [String: AlertRecord] = [:]
        var sent: [(Int64, AlertPolicy.Event.Kind)] = []
        for (offset, status) in timeline {
            let now = start + offset * 1000
            for event in policy.events(
                states: [state(status, at: now, lastHeartbeat: lastHeartbeat)],
                records: records,
                now: now
            ) {
                records[event.field] = event.recordAfterDelivery
                sent.append((offset, event.kind))
            }
        }
        return sent
    }

    @Test func offlineAlertsOnce() {
        let sent = run([(0, .online), (60, .offline), (120, .offline), (180, .offline)])
        #expect(sent.map(\.0) == [60])
        #expect(sent.map(\.1) == [.alert])
    }

    @Test func reminderExactlyAfterTheCooldown() {
        let sent = run([(0, .offline), (1799, .offline), (1800, .offline), (3599, .offline), (3600, .offline)])
        #expect(sent.map(\.0) == [0, 1800, 3600])
        #expect(sent.map(\.1) == [.alert, .reminder, .reminder])
    }

    @Test func recoveryOnlyAfterAnAlert() {
        #expect(run([(0, .online), (60, .online)]).isEmpty)
        let sent = run([(0, .offline), (60, .online), (120, .online)])
        #expect(sent.map(\.1) == [.alert, .recovery])
        #expect(sent.map(\.0) == [0, 60])
    }

    @Test func unknownNeverAlerts() {
        #expect(run([(0, .unknown), (4000, .unknown)]).isEmpty)
    }

    @Test func flappingGetsOneOfflineNotificationPerCooldown() {
        let sent = run([
            (0, .offline), (60, .online), (120, .offline), (180, .online), (240, .offline), (1800, .offline),
            (1860, .online),
        ])
        #expect(sent.map(\.1) == [.alert, .recovery, .alert, .recovery])
        #expect(sent.map(\.0) == [0, 60, 1800, 1860])
    }

    @Test func withoutARecordTheAlertStaysDueEveryCycle() {
        // The record is only applied after delivery; without it the alert stays due every cycle.
        let now = start
        let events1 = policy.events(states: [state(.offline, at: now)], records: [:], now: now)
        let events2 = policy.events(states: [state(.offline, at: now + 60_000)], records: [:], now: now + 60_000)
        #expect(events1.map(\.kind) == [.alert])
        #expect(events2.map(\.kind) == [.alert])
    }

    @Test func recoveryTellsHowLongTheOutageLasted() throws {
        let lastSeen = start - 400_000
        let alert = try #require(
            policy.events(states: [state(.offline, at: start, lastHeartbeat: lastSeen)], records: [:], now: start).first
        )
        #expect(alert.recordAfterDelivery == AlertRecord(alerted: true, lastNotified: start, lastSeen: lastSeen))
        let back = start + 600_000
        let recovery = try #require(
            policy.events(states: [state(.online, at: back)], records: ["mary": alert.recordAfterDelivery], now: back)
                .first
        )
        #expect(recovery.kind == .recovery)
        #expect(recovery.lastSeenBefore == lastSeen)
        #expect(AlertMessage.block(for: recovery).contains("Was offline for: 16m 40s"))
    }

    @Test func manyAgentsChangingInOneCycleShareOneMessage() {
        let agents = (0..<30).map { MonitorConfiguration.Agent(id: "agent-\($0)", name: "Agent \($0)") }
        let states = agents.map { state(.offline, at: start, agent: $0) }
        let events = policy.events(states: states, records: [:], now: start)
        #expect(events.count == 30)
        let messages = AlertMessage.render(events, now: start)
        #expect(messages.count == 1)
        #expect(messages[0].text.hasPrefix("🔴 <b>30 agents offline</b>"))
        #expect(messages[0].events.count == 30)
    }

    @Test func recordEncodingRoundTrips() {
        for record in [
            AlertRecord(alerted: true, lastNotified: 5, lastSeen: 3),
            AlertRecord(alerted: false, lastNotified: 9, lastSeen: nil),
        ] {
            #expect(AlertRecord(encoded: record.encoded) == record)
        }
        #expect(AlertRecord(encoded: "garbage") == nil)
        // Offline records keep the three parts older versions read; other troubles add a fourth.
        #expect(AlertRecord(alerted: true, lastNotified: 5, lastSeen: 3).encoded == "1|5|3")
        let failing = AlertRecord(alerted: true, lastNotified: 5, lastSeen: nil, trouble: .failing)
        #expect(failing.encoded == "1|5||failing" && AlertRecord(encoded: failing.encoded) == failing)
    }
}
