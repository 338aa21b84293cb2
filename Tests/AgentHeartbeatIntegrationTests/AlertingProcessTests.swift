import AgentHeartbeat
import AgentHeartbeatCore
import Foundation
import Testing

/// Several `agent-heartbeat run` replicas against one Redis, a fake Bot API standing in for Telegram.
@Suite("Alerting across replicas", .serialized)
struct AlertingProcessTests {
    static let token = "987654:SECRET-never-print-me"

    static func environment(_ api: FakeReceiver) -> [String: String] {
        [
            "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_CHAT_ID": "42", "TELEGRAM_API_URL": api.url,
            "TELEGRAM_TIMEOUT_SECONDS": "2",
        ]
    }

    static func configuration(
        _ ids: [String],
        cooldown: Duration,
        names: [String: String] = [:]
    ) -> MonitorConfiguration {
        var configuration = TestRedis.configuration(agents: ids, threshold: .seconds(3), interval: .seconds(1))
        configuration.alertCooldown = cooldown
        for index in configuration.agents.indices {
            configuration.agents[index].name = names[ids[index]] ?? ids[index].capitalized
        }
        return configuration
    }

    static func replicas(
        _ count: Int,
        _ configuration: MonitorConfiguration,
        _ api: FakeReceiver
    ) throws -> [SidecarProcess] {
        try (0..<count).map { _ in
            try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)", environment: environment(api))
        }
    }

    /// Three replicas alerting through `api`, all subscribed, with every agent beating until each
    /// replica has seen `id` online. Returns them and the beating (cancel it to silence the agents).
    static func threeReplicas(
        _ configuration: MonitorConfiguration,
        _ api: FakeReceiver,
        _ redis: RedisClient,
        online id: String
    ) async throws -> ([SidecarProcess], Task<Void, Never>) {
        let replicas = try replicas(3, configuration, api)
        try await redis.waitForSubscribers(configuration.agents[configuration.agents.count - 1].channel, count: 3)
        let beating = beat(redis, configuration.agents)
        for replica in replicas { try await eventually("online everywhere") { replica.status(of: id) == "online" } }
        return (replicas, beating)
    }

    /// Publishes a heartbeat for each agent every 300 ms until cancelled.
    static func beat(_ redis: RedisClient, _ agents: [MonitorConfiguration.Agent]) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                for agent in agents { try? await redis.publish(agent.channel, #"{"status":"ok"}"#) }
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
    }

    /// Waits until every replica has written `cycles` more maps, so "nothing more arrived" is observed, not hoped.
    static func waitCycles(_ replicas: [SidecarProcess], _ cycles: Int = 3) async throws {
        let marks = replicas.map { $0.map()?["timestamp"] as? String ?? "" }
        for (replica, mark) in zip(replicas, marks) {
            var seen: Set<String> = [mark]
            try await eventually("\(cycles) more checks") {
                if let stamp = replica.map()?["timestamp"] as? String { seen.insert(stamp) }
                return seen.count > cycles
            }
        }
    }

    static func finish(
        _ replicas: [SidecarProcess],
        _ redis: RedisClient,
        _ configuration: MonitorConfiguration
    ) async throws {
        for replica in replicas where replica.isRunning {
            replica.signal(SIGTERM)
            #expect(try await replica.exitStatus(within: .seconds(5)) == 0)
        }
        for replica in replicas {
            #expect(!replica.output.contains("SECRET"), "the bot token leaked: \(replica.output)")
        }
        try await redis.removeKeys(of: configuration)
        await redis.close()
    }

    @Test func oneAlertOneReminderOneRecoveryFromThreeReplicas() async throws {
        let api = try FakeReceiver()
        let configuration = Self.configuration(["mary"], cooldown: .seconds(6))
        let redis = try TestRedis.client()
        var (replicas, beating) = try await Self.threeReplicas(configuration, api, redis, online: "mary")

        beating.cancel()
        // Once over 20 s under ThreadSanitizer at the suite's start, where heartbeats that wait to be
        // stored (their time counts as unheard) may hold the alert back.
        let stopped = ContinuousClock.now
        try await eventually("offline alert", timeout: .seconds(60)) { api.delivered.count == 1 }
        print("offline alert \(ContinuousClock.now - stopped) after the last heartbeat (threshold 3 s)")
        #expect(api.delivered[0].text.hasPrefix("🔴 <b>Agent offline</b>"))
        try await eventually("reminder after the cooldown") { api.delivered.count == 2 }
        #expect(api.delivered[1].text.contains("still offline"))
        #expect(api.delivered[1].at - api.delivered[0].at >= .seconds(6))
        for replica in replicas {
            try await eventually("map says when it was notified") {
                ((replica.map()?["alerts"] as? [[String: Any]])?.first?["last_notified"] as? String) != nil
            }
        }

        beating = Self.beat(redis, configuration.agents)
        try await eventually("recovery") { api.delivered.count == 3 }
        #expect(api.delivered[2].text.hasPrefix("🟢 <b>Agent recovered</b>"))
        try await Self.waitCycles(replicas)
        beating.cancel()
        #expect(api.requests.count == 3, "\(api.requests.map(\.text))")
        try await Self.finish(replicas, redis, configuration)
    }

    @Test func anotherReplicaTakesOverWhenTheLeaderIsKilled() async throws {
        let api = try FakeReceiver()
        let configuration = Self.configuration(["first", "second"], cooldown: .seconds(600))
        let redis = try TestRedis.client()
        var (replicas, beating) = try await Self.threeReplicas(configuration, api, redis, online: "second")

        beating.cancel()
        beating = Self.beat(redis, [configuration.agents[1]])
        try await eventually("alert for the first agent") { api.delivered.count == 1 }
        // Kill once the delivered alert has left the queue: between Telegram's answer and that
        // removal, a crash repeats the alert (delivery is at least once, by design). The record is
        // written when the alert is queued, so it tells nothing of that (a duplicate under TSan).
        try await eventually("alert recorded and out of the queue") {
            let queued = try await redis.send("LLEN", configuration.queueKey(notifier: "telegram"))
            return try await redis.send("HGET", configuration.alertsKey, "first") != .null && queued == .integer(0)
        }
        let leader = try #require(replicas.first { $0.output.contains("became the leader") })
        leader.signal(SIGKILL)
        let killedAt = ContinuousClock.now
        _ = try await leader.exitStatus(within: .seconds(5))

        let others = replicas.filter { $0 !== leader }
        try await eventually("a new leader") { others.contains { $0.output.contains("became the leader") } }
        let takeover = ContinuousClock.now - killedAt
        print("leader takeover after SIGKILL took \(takeover)")
        #expect(takeover <= .seconds(5 + 1 + 2), "lock TTL 5 s + one interval, with 2 s to spare")

        beating.cancel()
        try await eventually("the second agent is still alerted") { api.delivered.count == 2 }
        #expect(api.delivered[1].text.contains("<code>second</code>"))
        #expect(!api.delivered[1].text.contains("<code>first</code>"), "no duplicate within the cooldown")
        try await Self.waitCycles(others)
        #expect(api.delivered.count == 2)
        try await Self.finish(replicas, redis, configuration)
    }

    @Test func honoursRetryAfterOn429() async throws {
        let api = try FakeReceiver()
        api.script(.tooManyRequests(retryAfter: 2))
        let configuration = Self.configuration(["mary"], cooldown: .seconds(600))
        let redis = try TestRedis.client()
        try await storeHeartbeat(redis, configuration, "mary", age: .seconds(10))
        let replicas = try Self.replicas(1, configuration, api)

        try await eventually("delivered after the 429") { api.delivered.count == 1 }
        let refused = api.requests[0]
        #expect(refused.status == 429)
        #expect(api.delivered[0].at - refused.at >= .seconds(2))
        try await Self.waitCycles(replicas)
        #expect(api.requests.count == 2)
        try await Self.finish(replicas, redis, configuration)
    }

    @Test func retriesServerErrorsAndStartsNoCooldownWhileFailing() async throws {
        let api = try FakeReceiver()
        api.script(.serverError, .serverError, .serverError)
        let configuration = Self.configuration(["mary"], cooldown: .seconds(4))
        let redis = try TestRedis.client()
        try await storeHeartbeat(redis, configuration, "mary", age: .seconds(10))
        let replicas = try Self.replicas(1, configuration, api)

        try await eventually("delivered once the API recovers") { api.delivered.count == 1 }
        #expect(api.requests.prefix(3).allSatisfy { $0.status == 500 })
        #expect(api.delivered[0].text.hasPrefix("🔴 <b>Agent offline</b>"), "the first alert, not a reminder")
        try await eventually("reminder") { api.delivered.count == 2 }
        // The cooldown counts from the delivery, not from the first failed attempt.
        #expect(api.delivered[1].at - api.delivered[0].at >= .seconds(4))
        try await Self.finish(replicas, redis, configuration)
    }

    @Test func agentTextArrivesEscapedForHTML() async throws {
        let api = try FakeReceiver()
        let name = #"_ * [ ] ( ) ~ ` > # + - = | { } . ! < > & \ "x""#
        let configuration = Self.configuration(["odd_one-1"], cooldown: .seconds(600), names: ["odd_one-1": name])
        let redis = try TestRedis.client()
        try await storeHeartbeat(redis, configuration, "odd_one-1", age: .seconds(10))
        let replicas = try Self.replicas(1, configuration, api)

        try await eventually("alert") { api.delivered.count == 1 }
        let lines = api.delivered[0].text.components(separatedBy: "\n")
        #expect(
            lines[2] == #"<b>_ * [ ] ( ) ~ ` &gt; # + - = | { } . ! &lt; &gt; &amp; \ "x"</b> (<code>odd_one-1</code>)"#
        )
        #expect(api.delivered[0].json["parse_mode"] as? String == "HTML")
        try await Self.finish(replicas, redis, configuration)
    }

    @Test func testAlertExitCodes() async throws {
        let api = try FakeReceiver()
        let folder = try SidecarProcess.folder(config: "agents: []\n")
        let good = try SidecarProcess(["test-alert"], folder: folder, redisURL: nil, environment: Self.environment(api))
        #expect(try await good.exitStatus(within: .seconds(10)) == 0)
        #expect(good.output.contains("delivered"), "\(good.output)")
        #expect(api.delivered.first?.text.contains("agent-heartbeat test message") == true)

        api.script(.unauthorized)
        let refused = try SidecarProcess(
            ["test-alert"],
            folder: folder,
            redisURL: nil,
            environment: Self.environment(api)
        )
        #expect(try await refused.exitStatus(within: .seconds(10)) == 1)
        #expect(refused.output.contains("not delivered: HTTP 401: Unauthorized"), "\(refused.output)")

        let unconfigured = try SidecarProcess(["test-alert"], folder: folder, redisURL: nil)
        #expect(try await unconfigured.exitStatus(within: .seconds(10)) == 1)
        #expect(unconfigured.output.contains("TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID must both be set"))
        for process in [good, refused, unconfigured] { #expect(!process.output.contains("SECRET")) }
    }
}
