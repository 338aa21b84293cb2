import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Logging
import Testing

/// Redis under Sentinel: a master, a replica and three sentinels, real processes on loopback.
extension RedisTopologyTests {
    @Suite("Sentinel", .serialized)
    struct SentinelTests {
        @Test func clientSkipsADeadSentinelAndFollowsAFailover() async throws {
            try await withSentinelDeployment { deployment in
                let original = try #require(try await deployment.master())
                let nobody = try freeLoopbackPort()
                let url = deployment.url.replacingOccurrences(of: "//", with: "//127.0.0.1:\(nobody),")
                let connector = RedisConnector(try RedisEndpoint(parsing: url))
                try await withClosing(RedisClient(connector, name: "test-sentinel-client")) { client in
                    _ = try await client.send("SET", "before", "1")
                    #expect(try await client.send("ROLE").array?.first?.text == "master")

                    _ = try await deployment.sentinels[0].withClient {
                        try await $0.send("SENTINEL", "FAILOVER", SentinelDeployment.masterName)
                    }
                    try await eventually("Sentinel names the replica") {
                        try await deployment.master().map { $0 !== original } ?? false
                    }
                    let promoted = try #require(try await deployment.master())
                    // Until the old master is told it is a replica it still takes writes (which it then
                    // loses); once it answers READONLY, the client asks the sentinels again.
                    try await eventually("a write reaches the new master") {
                        _ = try? await client.send("SET", "after", "2")
                        return try await promoted.withClient { try await $0.send("GET", "after") }
                            == .string(Array("2".utf8))
                    }
                }
            }
        }

        /// A frozen master answers nothing: without `+switch-master`, the subscriber would wait on it forever.
        @Test func mirrorLeavesAFrozenMasterWhenSentinelSwitches() async throws {
            try await withSentinelDeployment { deployment in
                let configuration = TestRedis.configuration(agents: ["mary"])
                let connector = RedisConnector(try deployment.endpoint)
                let logger = Logger(label: "test")
                let watcher = try #require(SentinelWatcher(connector, logger: logger))
                let mirror = HeartbeatMirror(
                    connector,
                    configurations: ConfigurationStore(configuration),
                    logger: logger
                )
                let watching = Task { try await watcher.run() }
                let mirroring = Task { try await mirror.mirror(for: .seconds(60)) }
                defer {
                    watching.cancel()
                    mirroring.cancel()
                }
                let original = try #require(try await deployment.master())
                try await original.withClient { try await $0.waitForSubscribers(configuration.agents[0].channel) }

                original.signal(SIGSTOP)
                defer { original.signal(SIGCONT) }
                try await eventually("Sentinel names the replica", timeout: .seconds(30)) {
                    try await deployment.master().map { $0 !== original } ?? false
                }
                let promoted = try #require(try await deployment.master())
                try await promoted.withClient { client in
                    try await eventually("a heartbeat published on the new master is mirrored") {
                        try await client.publish(configuration.agents[0].channel, #"{"status":"ok"}"#)
                        return try await client.heartbeat(configuration, "mary") != nil
                    }
                }
                #expect(connector.generation >= 1, "the switch came from Sentinel, not from a timeout")
            }
        }

        /// The sentinel the watcher listens to freezes, then the master: the watcher must notice the
        /// silent sentinel (PING), move to another one, and see the switch there.
        @Test func watcherLeavesAFrozenSentinel() async throws {
            try await withSentinelDeployment { deployment in
                let connector = RedisConnector(try deployment.endpoint)
                let watcher = try #require(SentinelWatcher(connector, logger: Logger(label: "test")))
                let watching = Task { try await watcher.run() }
                defer { watching.cancel() }
                let first = deployment.sentinels[0]
                try await first.withClient { sentinel in
                    try await eventually("the watcher listens to the first sentinel") {
                        (try await sentinel.send("CLIENT", "LIST").text ?? "").contains("cmd=subscribe")
                    }
                }
                let original = try #require(try await deployment.master())
                first.signal(SIGSTOP)
                defer { first.signal(SIGCONT) }
                original.signal(SIGSTOP)
                defer { original.signal(SIGCONT) }
                try await eventually("the switch is seen through another sentinel", timeout: .seconds(40)) {
                    connector.generation >= 1
                }
            }
        }

        /// The issue's scenario: three sidecars, the master killed with SIGKILL.
        @Test func sidecarsCarryOnWhenTheMasterIsKilled() async throws {
            try await withSentinelDeployment { deployment in
                let configuration = FailoverScenario.configuration()
                try await FailoverScenario(
                    name: "Sentinel",
                    url: deployment.url,
                    client: { try deployment.client() },
                    master: { try await deployment.master() }
                ).run(configuration)
            }
        }
    }
}
