import Testing

@testable import AgentHeartbeatCore

/// The alert policy with silences, dependencies and groups, as timelines of checks: each check
/// gives every agent a condition, and the events due are applied as if delivered.
struct Timeline {
    var configuration: MonitorConfiguration
    var records: [String: AlertRecord] = [:]
    var silences: [Silence] = []
    let start: Int64 = 1_800_000_000_000
    var policy: AlertPolicy { AlertPolicy(cooldown: configuration.alertCooldown) }

    init(_ yaml: String) throws {
        configuration = try MonitorConfiguration(yaml: yaml, file: "agents.yaml")
    }

    func milliseconds(_ second: Int64) -> Int64 { start + second * 1000 }

    /// The agents' states at `second`: each in its condition (online when not named).
    func states(at second: Int64, _ conditions: [String: AgentCondition]) -> AgentStates {
        let now = milliseconds(second)
        let states = configuration.agents.map { agent in
            let condition = conditions[agent.id] ?? .online
            let heard: Int64? =
                switch condition {
                case .unknown: nil
                case .offline: now - agent.offlineThresholdMilliseconds - 1000
                default: now
                }
            var evaluation = AgentState.Evaluation(
                threshold: agent.offlineThresholdMilliseconds,
                receivedAt: heard,
                now: now
            )
            evaluation.condition = condition
            if condition == .failing { evaluation.failingHeartbeats = 2 }
            return AgentState(agent: agent, rules: configuration.rules(of: agent), evaluation: evaluation)
        }
        return AgentStates(states, now: now)
    }

    /// One check at `second`; returns what was sent, as `kind trouble subject` lines.
    mutating func check(at second: Int64, _ conditions: [String: AgentCondition] = [:]) -> [String] {
        events(at: second, conditions).map { "\($0.kind) \($0.trouble.rawValue) \($0.field)" }
    }

    /// One check at `second` by a replica that did not hear everything since `unheardSince`.
    mutating func check(at second: Int64, _ conditions: [String: AgentCondition] = [:], unheardSince: Int64) -> [String]
    {
        events(at: second, conditions, gaps: ListeningGaps(open: milliseconds(unheardSince)))
            .map { "\($0.kind) \($0.trouble.rawValue) \($0.field)" }
    }

    mutating func events(
        at second: Int64,
        _ conditions: [String: AgentCondition] = [:],
        gaps: ListeningGaps = ListeningGaps()
    ) -> [AlertPolicy.Event] {
        var states = states(at: second, conditions)
        let uncertain = Set(gaps.discounting(&states))
        let assessment = Assessment(states, plan: Assessment.Plan(configuration), silences: silences)
        let events = policy.events(
            states: assessment.subjects(of: states, alertRecords: records, uncertain: uncertain),
            groups: assessment.groups,
            records: records,
            now: states.now
        )
        for event in events { records[event.field] = event.recordAfterDelivery }
        return events
    }

    mutating func silence(_ target: String, from second: Int64, for seconds: Int64, reason: String = "deploy") {
        silences.append(
            Silence(
                id: "s\(silences.count)",
                target: target,
                until: milliseconds(second + seconds),
                reason: reason,
                createdAt: milliseconds(second)
            )
        )
    }
}

@Suite("Alert timelines: failing, late, silences, dependencies, groups")
struct AlertTimelineTests {
    static let one = "alert_cooldown_seconds: 1800\nagents:\n  - {id: mary, name: Mary}\n"

    @Test func aFailingReportAlertsOnceRemindsAndRecovers() throws {
        var timeline = try Timeline(Self.one)
        #expect(timeline.check(at: 0, ["mary": .failing]) == ["alert failing mary"])
        #expect(timeline.check(at: 60, ["mary": .failing]).isEmpty)
        #expect(timeline.check(at: 1800, ["mary": .failing]) == ["reminder failing mary"])
        let recovery = timeline.events(at: 1860)
        #expect(recovery.map(\.kind) == [.recovery] && recovery[0].trouble == .failing)
        #expect(AlertMessage.block(for: recovery[0]).contains("Was: failing"))
        #expect(timeline.check(at: 1920).isEmpty)
    }

    @Test func anotherTroubleIsAlertedAtOnce() throws {
        var timeline = try Timeline(Self.one)
        #expect(timeline.check(at: 0, ["mary": .failing]) == ["alert failing mary"])
        #expect(timeline.check(at: 60, ["mary": .offline]) == ["alert offline mary"])
        #expect(timeline.check(at: 120, ["mary": .offline]).isEmpty)
        #expect(timeline.check(at: 180) == ["recovery offline mary"])
    }

    @Test func lateIsShownEverywhereButAlertsOnlyWhereAsked() throws {
        var quiet = try Timeline(Self.one)
        #expect(quiet.check(at: 0, ["mary": .late]).isEmpty)
        #expect(quiet.check(at: 60).isEmpty)  // a late agent that recovers: nothing to say
        var asked = try Timeline("agents:\n  - {id: mary, name: Mary, alert_on_late: true}\n")
        #expect(asked.check(at: 0, ["mary": .late]) == ["alert late mary"])
        #expect(asked.check(at: 30, ["mary": .late]).isEmpty)
        #expect(asked.check(at: 60) == ["recovery late mary"])
        // Late, then offline: the offline alert goes out at once.
        #expect(asked.check(at: 2000, ["mary": .late]) == ["alert late mary"])
        #expect(asked.check(at: 2300, ["mary": .offline]) == ["alert offline mary"])
    }

    /// A late agent whose silence fell partly where the replica did not hear (not listening, or
    /// heartbeats not yet stored) is on time as far as it can tell: no recovery from lateness,
    /// which cannot be told yet, but one from an outage, which is over either way.
    @Test func anAgentUncertainlyOnTimeRecoversOnlyFromWorse() throws {
        var timeline = try Timeline("agents:\n  - {id: mary, name: Mary, alert_on_late: true}\n")
        #expect(timeline.check(at: 0, ["mary": .late]) == ["alert late mary"])
        #expect(timeline.check(at: 30, ["mary": .late], unheardSince: 20).isEmpty)
        #expect(timeline.check(at: 60, ["mary": .late]).isEmpty)
        #expect(timeline.check(at: 90) == ["recovery late mary"])

        #expect(timeline.check(at: 3000, ["mary": .offline]) == ["alert offline mary"])
        #expect(timeline.check(at: 3030, ["mary": .late], unheardSince: 3020) == ["recovery offline mary"])
    }

    @Test func flappingAlertsLikeAnOutage() throws {
        var timeline = try Timeline(Self.one)
        #expect(timeline.check(at: 0, ["mary": .flapping]) == ["alert flapping mary"])
        #expect(timeline.check(at: 600) == ["recovery flapping mary"])
    }

    @Test func aSilenceHoldsTheAlertAndItsEndReleasesIt() throws {
        var timeline = try Timeline(Self.one)
        timeline.silence("mary", from: 0, for: 600)
        #expect(timeline.check(at: 0, ["mary": .offline]).isEmpty)
        #expect(timeline.check(at: 599, ["mary": .offline]).isEmpty)
        #expect(timeline.check(at: 600, ["mary": .offline]) == ["alert offline mary"])
    }

    @Test func aRecoveryWhileSilencedIsToldWhenTheSilenceEnds() throws {
        var timeline = try Timeline(Self.one)
        #expect(timeline.check(at: 0, ["mary": .offline]) == ["alert offline mary"])
        timeline.silence("*", from: 10, for: 300)
        #expect(timeline.check(at: 60).isEmpty)
        #expect(timeline.check(at: 310) == ["recovery offline mary"])
    }

    static let gateway = """
        agents:
          - {id: gateway, name: Gateway}
          - {id: a, name: A, depends_on: [proxy]}
          - {id: b, name: B, depends_on: [gateway]}
          - {id: proxy, name: Proxy, depends_on: [gateway]}
          - {id: lone, name: Lone}
        """

    @Test func aDeadDependencyYieldsOneAlertNamingItsDependents() throws {
        var timeline = try Timeline(Self.gateway)
        let down: [String: AgentCondition] = ["gateway": .offline, "a": .offline, "b": .offline, "proxy": .offline]
        let events = timeline.events(at: 0, down)
        #expect(events.map(\.field) == ["gateway"])
        // The proxy is down too, but behind the gateway: the root cause is the gateway.
        #expect(events[0].state?.affected.map(\.id) == ["a", "b", "proxy"])
        let messages = AlertMessage.render(events, now: timeline.milliseconds(0))
        #expect(messages.count == 1)
        #expect(
            messages[0].text.contains("3 dependent agents affected: <code>a</code>, <code>b</code>, <code>proxy</code>")
        )
        #expect(timeline.check(at: 60, down).isEmpty)
        // The gateway is back, its dependents are not: now each speaks for itself.
        #expect(
            timeline.check(at: 120, ["a": .offline, "b": .offline, "proxy": .offline])
                == ["recovery offline gateway", "alert offline b", "alert offline proxy"]
        )
    }

    @Test func theMapNamesTheRootCause() throws {
        let timeline = try Timeline(Self.gateway)
        let states = timeline.states(at: 0, ["gateway": .failing, "proxy": .offline, "a": .offline, "b": .late])
        let assessment = Assessment(states, plan: Assessment.Plan(timeline.configuration), silences: [])
        #expect(assessment.suppressedBy == [1: 0, 2: 0, 3: 0])
        let renderer = StatusMapRenderer(states: states, assessment: assessment)
        let text = String(decoding: renderer.render(), as: UTF8.self)
        #expect(text.contains(#""status" : "online","#) && text.contains(#""suppressed_by" : "gateway""#))
        #expect(renderer.summary.suppressedAgents == 3 && renderer.summary.failingAgents == 1)
    }

    @Test func aSilencedDependencySilencesItsDependents() throws {
        var timeline = try Timeline(Self.gateway)
        timeline.silence("gateway", from: 0, for: 600)
        let down: [String: AgentCondition] = ["gateway": .offline, "proxy": .offline, "a": .offline, "b": .offline]
        #expect(timeline.check(at: 0, down).isEmpty)
        #expect(timeline.check(at: 600, down) == ["alert offline gateway"])
    }

    @Test func aDependencyThatNeverAlertsSuppressesNobody() throws {
        var timeline = try Timeline(
            "agents:\n  - {id: gateway, name: G, alert: false}\n  - {id: b, name: B, depends_on: [gateway]}\n"
        )
        #expect(timeline.check(at: 0, ["gateway": .offline, "b": .offline]) == ["alert offline b"])
    }

    static let workers = """
        alert_cooldown_seconds: 1800
        agents:
          - {id: worker-1, name: W1, alert: false}
          - {id: worker-2, name: W2, alert: false}
          - {id: worker-3, name: W3, alert: false}
        groups:
          - {id: workers, name: Workers, members: ["worker-*"], min_online: 2}
        """

    @Test func aGroupBelowQuorumAlertsOnceAndRecovers() throws {
        var timeline = try Timeline(Self.workers)
        #expect(timeline.check(at: 0, ["worker-1": .offline]).isEmpty)
        let events = timeline.events(at: 60, ["worker-1": .offline, "worker-2": .failing])
        #expect(events.map(\.field) == ["group:workers"])
        let block = AlertMessage.block(for: events[0])
        #expect(block.contains("Status: below quorum: 1 of 3 online, needs 2"))
        #expect(block.contains("Not online: <code>worker-1</code>, <code>worker-2</code>"))
        #expect(AlertMessage.render(events, now: 0)[0].text.hasPrefix("🔴 <b>Group below quorum</b>"))
        #expect(timeline.check(at: 120, ["worker-1": .offline, "worker-2": .offline]).isEmpty)
        #expect(
            timeline.check(at: 1860, ["worker-1": .offline, "worker-2": .offline]) == [
                "reminder below_quorum group:workers"
            ]
        )
        #expect(timeline.check(at: 1900, ["worker-1": .offline]) == ["recovery below_quorum group:workers"])
    }

    @Test func aGroupOfUnknownMembersIsQuiet() throws {
        var timeline = try Timeline(Self.workers)
        #expect(timeline.check(at: 0, ["worker-1": .unknown, "worker-2": .unknown, "worker-3": .offline]).isEmpty)
        let states = timeline.states(at: 0, ["worker-1": .unknown, "worker-2": .unknown])
        let groups = Assessment(states, plan: Assessment.Plan(timeline.configuration), silences: []).groups
        #expect(groups.map(\.status) == [.unknown])
    }

    @Test func silencingAGroupSilencesItAndItsMembers() throws {
        var timeline = try Timeline(Self.workers.replacingOccurrences(of: ", alert: false", with: ""))
        timeline.silence("workers", from: 0, for: 60)
        #expect(timeline.check(at: 0, ["worker-1": .offline, "worker-2": .offline]).isEmpty)
        #expect(
            timeline.check(at: 60, ["worker-1": .offline, "worker-2": .offline])
                == ["alert offline worker-1", "alert offline worker-2", "alert below_quorum group:workers"]
        )
        var globbed = try Timeline(Self.workers.replacingOccurrences(of: ", alert: false", with: ""))
        globbed.silence("worker-?", from: 0, for: 60)
        #expect(globbed.check(at: 0, ["worker-1": .offline]).isEmpty)
    }

    @Test func aMaintenanceWindowSilencesWhileItLasts() throws {
        // The timeline starts on Friday 15 January 2027, 08:00 UTC; the window runs 07:30–08:30.
        var timeline = try Timeline(
            Self.one
                + "maintenance:\n  - {agents: [\"*\"], days: [fri], start: \"07:30\", duration_minutes: 60,"
                + " time_zone: UTC, reason: backup}\n"
        )
        let states = timeline.states(at: 0, ["mary": .offline])
        let assessment = Assessment(states, plan: Assessment.Plan(timeline.configuration), silences: [])
        #expect(assessment.silenced[0] == Assessment.Silencing(until: timeline.milliseconds(1800), reason: "backup"))
        #expect(timeline.check(at: 0, ["mary": .offline]).isEmpty)
        #expect(timeline.check(at: 1799, ["mary": .offline]).isEmpty)
        #expect(timeline.check(at: 1800, ["mary": .offline]) == ["alert offline mary"])
    }

    @Test func expiredSilencesAreIgnored() throws {
        var timeline = try Timeline(Self.one)
        timeline.silence("mary", from: -600, for: 300)
        #expect(timeline.check(at: 0, ["mary": .offline]) == ["alert offline mary"])
    }
}
