import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Testing

/// Three sidecars on a Redis that fails over (Sentinel or Cluster); the master that holds the
/// deployment's keys is killed with SIGKILL. Checks what the issue asks: the sidecars resume within
/// the promotion time + 5 s (a heartbeat that arrived after the promotion is on the new master,
/// a leader holds the lock there), the agent that died before is alerted exactly once, and the live
/// agent never.
struct FailoverScenario {
    let name: String
    let url: String
    /// A client that follows the master.
    let client: () throws -> RedisClient
    /// The master that holds the deployment's keys now.
    let master: () async throws -> RedisServer?

    /// Agents `live` and `dead`, a threshold longer than a failover (a few seconds here), so the
    /// live agent must never be alerted.
    static func configuration() -> MonitorConfiguration {
        var configuration = AlertingProcessTests.configuration(["live", "dead"], cooldown: .seconds(600))
        for index in configuration.agents.indices { configuration.agents[index].offlineThreshold = .seconds(10) }
        return configuration
    }

    func run(_ configuration: MonitorConfiguration) async throws {
        let api = try FakeReceiver()
        let (live, dead) = (configuration.agents[0], configuration.agents[1])
        let original = try #require(try await master())
        try await withClosing(try client()) { redis in
            let replicas = try (0..<3).map { _ in
                try SidecarProcess.running(
                    configuration,
                    redisURL: url,
                    environment: AlertingProcessTests.environment(api)
                )
            }
            try await redis.waitForSubscribers(dead.channel, count: 3)
            try await redis.publish(dead.channel, #"{"status":"ok"}"#)
            let beating = AlertingProcessTests.beat(redis, [live])
            defer { beating.cancel() }
            for replica in replicas {
                try await eventually("online everywhere") {
                    replica.status(of: "dead") == "online" && replica.status(of: "live") == "online"
                }
            }
            try await eventually("the leader's lock is on the master") {
                try await redis.send("GET", configuration.leaderKey) != .null
            }
            _ = try await redis.send("WAIT", "1", "1000")

            let killedAtMilliseconds = try await redis.serverMilliseconds()
            let killedAt = ContinuousClock.now
            original.kill()
            var promoted: RedisServer?
            try await eventually("a replica is promoted", timeout: .seconds(30)) {
                promoted = try await master().flatMap { $0 !== original ? $0 : nil }
                return promoted != nil
            }
            let promotion = ContinuousClock.now - killedAt
            try await promoted!.withClient { client in
                try await eventually("a heartbeat that arrived after the promotion is on the new master") {
                    let record = try await client.heartbeat(configuration, "live")
                    return record.map { $0.receivedAt > killedAtMilliseconds + promotion.wholeMilliseconds } ?? false
                }
                let resumed = ContinuousClock.now - killedAt
                try await eventually("a leader holds the lock on the new master") {
                    let holder = try await client.send("GET", configuration.leaderKey).text ?? ""
                    return replicas.contains { holder.contains(":\($0.process.processIdentifier)/") }
                }
                let led = ContinuousClock.now - killedAt
                print("\(name) failover: promotion \(promotion), heartbeats mirrored again \(resumed), lock \(led)")
                #expect(resumed <= promotion + .seconds(5))
                #expect(led <= promotion + .seconds(5))
            }

            try await eventually("the dead agent is alerted") { api.delivered.count == 1 }
            #expect(api.delivered[0].text.contains("Dead"))
            try await AlertingProcessTests.waitCycles(replicas, 3)
            #expect(api.delivered.count == 1, "\(api.delivered.map(\.text))")
            #expect(!api.delivered.contains { $0.text.contains("Live") })
            for replica in replicas {
                #expect(replica.status(of: "live") == "online")
                replica.signal(SIGTERM)
                #expect(try await replica.exitStatus(within: .seconds(5)) == 0)
                #expect(!replica.output.contains("SECRET"))
            }
        }
    }
}
