import AgentHeartbeat
import AgentHeartbeatCore
import Foundation
import Testing

/// Failing reports, lateness, silences, dependencies and groups, end to end: three `run` replicas,
/// one Redis, a fake Bot API counting what Telegram would deliver.
@Suite("Heartbeat semantics across replicas", .serialized)
struct HeartbeatSemanticsProcessTests {
    typealias Alerting = AlertingProcessTests

    /// Publishes `payload(n)` for each agent every `interval` until cancelled (n counts up).
    static func beat(
        _ redis: RedisClient,
        _ agents: [MonitorConfiguration.Agent],
        every interval: Duration = .milliseconds(300),
        _ payload: @escaping @Sendable (Int) -> String = { #"{"status":"ok","n":\#($0)}"# }
    ) -> Task<Void, Never> {
        Task {
            var number = 0
            while !Task.isCancelled {
                for agent in agents { try? await redis.publish(agent.channel, payload(number)) }
                number += 1
                try? await Task.sleep(for: interval)
            }
        }
    }

    static func agent(_ replica: SidecarProcess, _ id: String) -> [String: Any]? {
        (replica.map()?["agents"] as? [String: Any])?[id] as? [String: Any]
    }

    /// Three replicas, online everywhere while `beating` runs.
    static func start(
        _ configuration: MonitorConfiguration,
        _ api: FakeReceiver,
        _ redis: RedisClient
    ) async throws -> [SidecarProcess] {
        let replicas = try Alerting.replicas(3, configuration, api)
        try await redis.waitForSubscribers(configuration.agents[0].channel, count: 3)
        return replicas
    }

    @Test func aFailingReportAlertsExactlyOnceAndRecovers() async throws {
        let api = try FakeReceiver()
        let configuration = Alerting.configuration(["mary"], cooldown: .seconds(600))
        let redis = try TestRedis.client()
        let replicas = try await Self.start(configuration, api, redis)
        var beating = Self.beat(redis, configuration.agents)
        for replica in replicas { try await eventually("online") { replica.status(of: "mary") == "online" } }
        beating.cancel()
        beating = Self.beat(redis, configuration.agents) { #"{"status":"ERROR","n":\#($0),"message":"disk <full>"}"# }

        try await eventually("failing alert") { api.delivered.count == 1 }
        let alert = api.delivered[0].text
        #expect(alert.contains("Agent failing") && alert.contains("disk &lt;full&gt;"), "\(alert)")
        for replica in replicas {
            try await eventually("failing in every map") {
                Self.agent(replica, "mary")?["condition"] as? String == "failing"
            }
            #expect(replica.status(of: "mary") == "online")  // alive, for old readers
        }
        // Each replica checks on its own schedule, and exports after writing its map: polled.
        try await eventually("failing in the metrics") {
            let metrics = await replicas[0].get("/metrics")?.body ?? ""
            return metrics.contains(#"agent_heartbeat_agents_by_condition{condition="failing"} 1"#)
                && metrics.contains(#"agent_heartbeat_agent_condition{agent="mary",condition="failing"} 1"#)
        }
        try await Alerting.waitCycles(replicas)
        #expect(api.requests.count == 1)

        beating.cancel()
        beating = Self.beat(redis, configuration.agents)
        try await eventually("recovery") { api.delivered.count == 2 }
        #expect(api.delivered[1].text.contains("Agent recovered") && api.delivered[1].text.contains("Was: failing"))
        try await Alerting.waitCycles(replicas)
        beating.cancel()
        #expect(api.requests.count == 2, "\(api.requests.map(\.text))")
        try await Alerting.finish(replicas, redis, configuration)
    }

    @Test func aTwoSecondAgentIsLateAfterAFewSeconds() async throws {
        let api = try FakeReceiver()
        var configuration = Alerting.configuration(["mary"], cooldown: .seconds(600))
        configuration.agents[0].offlineThreshold = .seconds(120)
        var rules = AgentRules()
        rules.alertOnLate = true
        configuration.set(rules, forAgentAt: 0)
        let redis = try TestRedis.client()
        let replicas = try await Self.start(configuration, api, redis)
        var beating = Self.beat(redis, configuration.agents, every: .seconds(2))
        // Five intervals teach the cadence; every replica stores each heartbeat, counted once.
        for replica in replicas {
            try await eventually("cadence learnt", timeout: .seconds(40)) {
                guard let interval = Self.agent(replica, "mary")?["expected_interval_seconds"] as? Double else {
                    return false
                }
                return (1.8...2.3).contains(interval)
            }
        }
        beating.cancel()
        let stopped = ContinuousClock.now
        try await eventually("late") { Self.agent(replicas[0], "mary")?["condition"] as? String == "late" }
        let after = ContinuousClock.now - stopped
        print("a 2 s agent was late \(after) after its last heartbeat (offline threshold 120 s)")
        #expect(after < .seconds(12))
        #expect(replicas[0].status(of: "mary") == "online")
        try await eventually("late alert") { api.delivered.count == 1 }
        #expect(api.delivered[0].text.contains("Agent late") && api.delivered[0].text.contains("expected every 2"))

        beating = Self.beat(redis, configuration.agents, every: .seconds(2))
        try await eventually("recovery") { api.delivered.count == 2 }
        #expect(api.delivered[1].text.contains("Was: late"))
        beating.cancel()
        #expect(api.requests.count == 2, "\(api.requests.map(\.text))")
        try await Alerting.finish(replicas, redis, configuration)
    }

    @Test func aSilenceSuppressesAndItsExpiryReleasesTheAlert() async throws {
        let api = try FakeReceiver()
        let configuration = Alerting.configuration(["mary"], cooldown: .seconds(600))
        let redis = try TestRedis.client()
        let replicas = try await Self.start(configuration, api, redis)
        let beating = Self.beat(redis, configuration.agents)
        for replica in replicas { try await eventually("online") { replica.status(of: "mary") == "online" } }

        let silence = try SidecarProcess(
            ["silence", "add", "mary", "--for", "10s", "--reason", "deploy"],
            folder: replicas[0].folder,
            redisURL: "\(TestRedis.url)"
        )
        #expect(try await silence.exitStatus(within: .seconds(10)) == 0)
        #expect(silence.output.contains("silenced mary until"), "\(silence.output)")
        let stored = try await SilenceStore(client: redis, configuration: configuration).list().silences
        let until = try #require(stored.first?.until)
        beating.cancel()
        for replica in replicas {
            try await eventually("offline and silenced") {
                let entry = Self.agent(replica, "mary")
                return entry?["status"] as? String == "offline" && entry?["silence_reason"] as? String == "deploy"
                    && entry?["silenced_until"] is String
            }
        }
        #expect(api.requests.isEmpty)
        try await eventually("the alert once the silence ends") { api.delivered.count == 1 }
        // On the Redis clock, which both the silence and the checks use.
        #expect(try await redis.serverMilliseconds() >= until)
        #expect(api.delivered[0].text.contains("Agent offline"))
        try await Alerting.waitCycles(replicas)
        #expect(api.requests.count == 1)
        try await Alerting.finish(replicas, redis, configuration)
    }

    @Test func aDeadDependencyYieldsOneMessageNamingItsDependents() async throws {
        let api = try FakeReceiver()
        var configuration = Alerting.configuration(["gateway", "alpha", "beta", "gamma"], cooldown: .seconds(600))
        var rules = AgentRules()
        rules.lateAfter = .seconds(1)  // late, hence affected, before the gateway is offline
        for index in 1...3 {
            configuration.dependencies[configuration.agents[index].id] = ["gateway"]
            configuration.set(rules, forAgentAt: index)
        }
        let redis = try TestRedis.client()
        let replicas = try await Self.start(configuration, api, redis)
        let beating = Self.beat(redis, configuration.agents)
        for replica in replicas { try await eventually("online") { replica.status(of: "gamma") == "online" } }
        beating.cancel()

        try await eventually("one alert") { api.delivered.count == 1 }
        let text = api.delivered[0].text
        #expect(text.contains("Agent offline") && text.contains("Gateway"), "\(text)")
        #expect(text.contains("3 dependent agents affected"), "\(text)")
        for replica in replicas {
            try await eventually("dependents offline, caused by the gateway") {
                ["alpha", "beta", "gamma"].allSatisfy {
                    let entry = Self.agent(replica, $0)
                    return entry?["status"] as? String == "offline" && entry?["suppressed_by"] as? String == "gateway"
                }
            }
        }
        try await Alerting.waitCycles(replicas)
        #expect(api.requests.count == 1, "\(api.requests.map(\.text))")
        try await Alerting.finish(replicas, redis, configuration)
    }

    @Test func aGroupBelowQuorumAlertsOnce() async throws {
        let api = try FakeReceiver()
        var configuration = Alerting.configuration(["worker-1", "worker-2", "worker-3"], cooldown: .seconds(600))
        var rules = AgentRules()
        rules.alerts = false  // only the group speaks for them
        for index in 0..<3 { configuration.set(rules, forAgentAt: index) }
        configuration.groups = [
            AgentGroup(id: "workers", name: "Workers", members: ["worker-1", "worker-2", "worker-3"], minOnline: 2)
        ]
        let redis = try TestRedis.client()
        let replicas = try await Self.start(configuration, api, redis)
        var beating = Self.beat(redis, configuration.agents)
        for replica in replicas {
            try await eventually("group ok") {
                ((replica.map()?["groups"] as? [String: Any])?["workers"] as? [String: Any])?["status"] as? String
                    == "ok"
            }
        }
        beating.cancel()
        beating = Self.beat(redis, [configuration.agents[0]])
        try await eventually("group alert") { api.delivered.count == 1 }
        #expect(api.delivered[0].text.contains("Group below quorum"))
        #expect(api.delivered[0].text.contains("1 of 3 online, needs 2"), "\(api.delivered[0].text)")
        // The leader alerted; this replica may not have checked since: polled.
        try await eventually("below quorum in the metrics") {
            let metrics = await replicas[0].get("/metrics")?.body ?? ""
            return metrics.contains(#"agent_heartbeat_group_below_quorum{group="workers"} 1"#)
                && metrics.contains(#"agent_heartbeat_group_online{group="workers"} 1"#)
        }
        try await Alerting.waitCycles(replicas)
        #expect(api.requests.count == 1, "\(api.requests.map(\.text))")

        beating.cancel()
        beating = Self.beat(redis, configuration.agents)
        try await eventually("group recovery") { api.delivered.count == 2 }
        #expect(api.delivered[1].text.contains("Group recovered"))
        beating.cancel()
        try await Alerting.finish(replicas, redis, configuration)
    }
}
