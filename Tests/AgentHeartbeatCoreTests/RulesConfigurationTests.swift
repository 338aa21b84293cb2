import AgentHeartbeatCore
import Testing

@Suite("agents.yaml: failing, late, restarts, dependencies, groups, maintenance")
struct RulesConfigurationTests {
    func load(_ yaml: String) throws(ConfigurationError) -> MonitorConfiguration { try ConfigurationTests().load(yaml) }

    func failure(_ yaml: String) -> ConfigurationError? { ConfigurationTests().failure(yaml) }

    @Test func defaultsNeedNoKey() throws {
        let config = try load("agents:\n  - id: mary\n    name: Mary\n")
        #expect(config.failingStatuses == ["error", "fail", "failed", "failing", "critical", "down"])
        #expect(config.rules == [AgentRules()])
        let rules = config.rules(of: config.agents[0])
        #expect(rules.lateAfter == nil && !rules.alertOnLate && rules.alerts)
        #expect(rules.failingAfterHeartbeats == 1 && rules.maxRestarts == 3 && rules.restartWindow == .seconds(600))
        #expect(config.groups.isEmpty && config.dependencies.isEmpty && config.maintenance.isEmpty)
        #expect(config.isFailing(status: "ERROR") && !config.isFailing(status: "ok"))
    }

    @Test func globalKeysApplyToAgentsThatDoNotOverrideThem() throws {
        let config = try load(
            """
            agents:
              - id: mary
                name: Mary
              - id: lisa
                name: Lisa
                late_after_seconds: 30
                alert_on_late: true
                failing_after_heartbeats: 2
                alert: false
              - id: paula
                name: Paula
                late_after_seconds: 30
                alert_on_late: true
                failing_after_heartbeats: 2
                alert: false
            failing_statuses: [Broken, ERROR]
            failing_after_heartbeats: 3
            max_restarts: 5
            restart_window_seconds: 120
            """
        )
        #expect(config.failingStatuses == ["broken", "error"])
        let (mary, lisa, paula) = (config.agents[0], config.agents[1], config.agents[2])
        #expect(config.rules(of: mary).failingAfterHeartbeats == 3)
        #expect(config.rules(of: mary).maxRestarts == 5 && config.rules(of: lisa).maxRestarts == 5)
        #expect(config.rules(of: lisa).failingAfterHeartbeats == 2)
        #expect(config.rules(of: lisa).lateAfter == .seconds(30) && config.rules(of: lisa).alertOnLate)
        #expect(!config.rules(of: lisa).alerts && config.rules(of: mary).alerts)
        #expect(config.rules(of: lisa).restartWindow == .seconds(120))
        // Agents with the same rules share them: one entry, not one per agent.
        #expect(config.rules.count == 2 && lisa.rulesIndex == paula.rulesIndex)
    }

    @Test func groupsResolveGlobsInTheConfigurationsOrder() throws {
        let config = try load(
            """
            agents:
              - {id: worker-2, name: Two}
              - {id: gateway, name: Gateway}
              - {id: worker-1, name: One}
            groups:
              - id: workers
                name: Workers
                members: ["worker-*", worker-1]
                min_online: 2
            """
        )
        #expect(
            config.groups == [
                AgentGroup(id: "workers", name: "Workers", members: ["worker-2", "worker-1"], minOnline: 2)
            ]
        )
    }

    @Test func dependenciesAndMaintenance() throws {
        let config = try load(
            """
            agents:
              - {id: gateway, name: Gateway}
              - {id: mary, name: Mary, depends_on: [gateway]}
            maintenance:
              - agents: [mary]
                days: [sun, Saturday]
                start: "02:30"
                duration_minutes: 90
                time_zone: Europe/Berlin
            """
        )
        #expect(config.dependencies == ["mary": ["gateway"]])
        let window = try #require(config.maintenance.first)
        #expect(window.weekdays == [1, 7] && window.startMinute == 150 && window.duration == .seconds(5400))
        #expect(window.timeZone == "Europe/Berlin" && window.reason == "maintenance window")
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        var line: Int
        var keyPath: String
        var messageContains: String
        var testDescription: String { name }
    }

    static let agents = "agents:\n  - {id: gateway, name: Gateway}\n  - {id: mary, name: Mary}\n"

    static let invalid: [Case] = [
        Case(
            name: "unknown dependency",
            yaml: "agents:\n  - id: mary\n    name: Mary\n    depends_on: [gatway]\n",
            line: 4,
            keyPath: "agents[0].depends_on[0]",
            messageContains: "no agent has the id \"gatway\""
        ),
        Case(
            name: "dependency cycle",
            yaml: """
                agents:
                  - {id: a, name: A, depends_on: [b]}
                  - {id: b, name: B, depends_on: [c]}
                  - {id: c, name: C, depends_on: [a]}
                """,
            line: 2,
            keyPath: "agents[0].depends_on",
            messageContains: "cycle: a → b → c → a"
        ),
        Case(
            name: "depends on itself",
            yaml: "agents:\n  - {id: a, name: A, depends_on: [a]}\n",
            line: 2,
            keyPath: "agents[0].depends_on[0]",
            messageContains: "itself"
        ),
        Case(
            name: "group member matching nothing",
            yaml: agents + "groups:\n  - {id: workers, name: W, members: [\"worker-*\"], min_online: 1}\n",
            line: 5,
            keyPath: "groups[0].members[0]",
            messageContains: "matches no agent"
        ),
        Case(
            name: "quorum above the members",
            yaml: agents + "groups:\n  - {id: all, name: All, members: [\"*\"], min_online: 3}\n",
            line: 5,
            keyPath: "groups[0].min_online",
            messageContains: "from 1 to 2, found 3"
        ),
        Case(
            name: "group id taken by an agent",
            yaml: agents + "groups:\n  - {id: mary, name: M, members: [mary], min_online: 1}\n",
            line: 5,
            keyPath: "groups[0].id",
            messageContains: "already the id"
        ),
        Case(
            name: "unknown time zone",
            yaml: agents
                + "maintenance:\n  - {agents: [mary], days: [mon], start: \"01:00\", duration_minutes: 5,"
                + " time_zone: Mars/Olympus}\n",
            line: 5,
            keyPath: "maintenance[0].time_zone",
            messageContains: "unknown time zone"
        ),
        Case(
            name: "bad start time",
            yaml: agents
                + "maintenance:\n  - {agents: [mary], days: [mon], start: \"25:00\", duration_minutes: 5,"
                + " time_zone: UTC}\n",
            line: 5,
            keyPath: "maintenance[0].start",
            messageContains: "local time"
        ),
        Case(
            name: "bad weekday",
            yaml: agents
                + "maintenance:\n  - {agents: [mary], days: [moonday], start: \"01:00\", duration_minutes: 5,"
                + " time_zone: UTC}\n",
            line: 5,
            keyPath: "maintenance[0].days[0]",
            messageContains: "weekday"
        ),
        Case(
            name: "too many restarts allowed",
            yaml: agents + "max_restarts: 50\n",
            line: 4,
            keyPath: "max_restarts",
            messageContains: "from 1 to 20"
        ),
        Case(
            name: "alert is not a flag",
            yaml: "agents:\n  - {id: mary, name: Mary, alert: maybe}\n",
            line: 2,
            keyPath: "agents[0].alert",
            messageContains: "true or false"
        ),
    ]

    @Test(arguments: invalid)
    func invalidFile(_ example: Case) throws {
        let error = try #require(failure(example.yaml))
        #expect(error.line == example.line)
        #expect(error.keyPath == example.keyPath)
        #expect(error.message.contains(example.messageContains), "\(error)")
    }
}
