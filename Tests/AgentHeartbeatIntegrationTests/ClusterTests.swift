import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Logging
import Testing

/// A Redis Cluster of three masters and three replicas, real processes on loopback.
extension RedisTopologyTests {
    @Suite("Redis Cluster", .serialized)
    struct ClusterTests {
        /// The deployment's slot moves to another master while heartbeats arrive: keys already moved
        /// answer ASK and the writer follows it; once the slot is handed over, MOVED sends the writer
        /// and the checker to the new owner.
        @Test func heartbeatsFollowTheSlotWhileItMigrates() async throws {
            try await withClusterDeployment { cluster in
                let ids = (0..<6).map { "agent-\($0)" }
                // And one agent on a shard channel (SPUBLISH), which lives in the keys' slot.
                let configuration = {
                    var configuration = TestRedis.configuration(agents: ids + ["shard"])
                    configuration.agents[ids.count].channel = "\(configuration.keyTag):heartbeat:shard"
                    return configuration
                }()
                let shardChannel = configuration.channel(of: "shard")
                let source = try #require(try await cluster.master(of: configuration.keyTag))
                let target = try #require(
                    cluster.nodes.first { node in
                        node !== source && cluster.masters.contains { $0 === node }
                    }
                )
                let (connector, mirror, mirroring) = try startMirror(configuration, on: cluster)
                defer { mirroring.cancel() }
                try await withClosing(RedisClient(connector, name: "test-cluster-checker")) { client in
                    try await source.withClient { source in
                        try await target.withClient { target in
                            try await eventually("subscribed") { mirror.statistics.snapshot.isSubscribed }
                            try await publish("first", ids, configuration, via: source)
                            _ = try await source.send("SPUBLISH", shardChannel, #"{"status":"first"}"#)
                            try await eventually("first heartbeats stored") {
                                try await stored(ids + ["shard"], configuration, on: source)
                                    == Array(repeating: "first", count: ids.count + 1)
                            }
                            let slot = try #require(
                                try await source.send("CLUSTER", "KEYSLOT", configuration.keyTag).integer
                            )
                            let sourceID = try #require(try await source.send("CLUSTER", "MYID").text)
                            let targetID = try #require(try await target.send("CLUSTER", "MYID").text)
                            _ = try await target.send("CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", sourceID)
                            _ = try await source.send("CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", targetID)
                            let moved = Array(ids.prefix(3))
                            try await migrate(moved, configuration, from: source, to: cluster.port(of: target))

                            try await publish("second", ids, configuration, via: source)
                            try await eventually("keys not moved yet are written where they are, moved ones after ASK")
                            {
                                let movedOnes = try await stored(moved, configuration, on: target)
                                let others = try await stored(Array(ids.dropFirst(3)), configuration, on: source)
                                return (movedOnes + others).allSatisfy { $0 == "second" }
                            }

                            try await migrate(
                                Array(ids.dropFirst(3)) + ["shard"],
                                configuration,
                                from: source,
                                to: cluster.port(of: target)
                            )
                            for master in cluster.masters {
                                try await master.withClient {
                                    _ = try await $0.send("CLUSTER", "SETSLOT", "\(slot)", "NODE", targetID)
                                }
                            }
                            // Published until stored: with a shard channel, the subscriber moves to the new
                            // owner too, and what is published while it moves is gone (pub/sub keeps nothing).
                            try await eventually("after MOVED every heartbeat goes to the new owner") {
                                try await publish("third", ids, configuration, via: source)
                                return try await stored(ids, configuration, on: target)
                                    == Array(repeating: "third", count: ids.count)
                            }
                            // The old owner dropped the shard channel (sunsubscribe); the mirror follows the slot.
                            try await eventually("a shard heartbeat on the new owner is heard there") {
                                _ = try? await target.send("SPUBLISH", shardChannel, #"{"status":"third"}"#)
                                return try await stored(["shard"], configuration, on: target) == ["third"]
                            }
                            let result = try await HeartbeatChecker(client: client, configuration: configuration)
                                .check()
                            #expect(result.states.allSatisfy { $0.status == .online })
                        }
                    }
                }
            }
        }

        /// A mirror of `configuration` on `cluster`, mirroring for at most two minutes: cancel the task.
        private func startMirror(
            _ configuration: MonitorConfiguration,
            on cluster: ClusterDeployment
        ) throws -> (RedisConnector, HeartbeatMirror, Task<Void, any Error>) {
            let connector = RedisConnector(try RedisEndpoint(parsing: cluster.url), routingKey: configuration.keyTag)
            let mirror = HeartbeatMirror(
                connector,
                configurations: ConfigurationStore(configuration),
                logger: Logger(label: "test")
            )
            return (connector, mirror, Task { try await mirror.mirror(for: .seconds(120)) })
        }

        private func publish(
            _ status: String,
            _ ids: [String],
            _ configuration: MonitorConfiguration,
            via redis: RedisClient
        ) async throws {
            for id in ids { try await redis.publish(configuration.channel(of: id), #"{"status":"\#(status)"}"#) }
        }

        /// The reported status stored for each agent on this node (nil where the key is not there).
        private func stored(
            _ ids: [String],
            _ configuration: MonitorConfiguration,
            on node: RedisClient
        ) async throws -> [String?] {
            var statuses: [String?] = []
            for id in ids {
                let key = configuration.heartbeatKey(for: id)
                // ASKING: a node importing the slot answers only then (harmless elsewhere).
                let reply = try? await node.withConnection { connection throws(RedisError) in
                    try connection.pipeline([RedisCommand("ASKING"), RedisCommand("GET", key)])[1]
                }
                let text = reply?.text ?? ""
                statuses.append(["first", "second", "third"].first { text.contains(#""status":"\#($0)""#) })
            }
            return statuses
        }

        private func migrate(
            _ ids: [String],
            _ configuration: MonitorConfiguration,
            from source: RedisClient,
            to port: Int
        ) async throws {
            // Heartbeat keys only: an agent's series stays behind (or does not exist yet), so the
            // mirror's two-key script gets TRYAGAIN and must store the heartbeat alone.
            let keys = ids.map { configuration.heartbeatKey(for: $0) }
            _ = try await source.send(
                RedisCommand("MIGRATE", ["127.0.0.1", "\(port)", "", "0", "5000", "KEYS"] + keys)
            )
        }

        /// The owner of the deployment's slot freezes: the cluster promotes its replica, and the mirror
        /// must notice by itself (no error comes from a frozen node) or every agent would fall silent.
        @Test func mirrorLeavesAFrozenOwner() async throws {
            try await withClusterDeployment { cluster in
                let configuration = TestRedis.configuration(agents: ["mary"])
                let (_, _, mirroring) = try startMirror(configuration, on: cluster)
                defer { mirroring.cancel() }
                let original = try #require(try await cluster.master(of: configuration.keyTag))
                try await original.withClient { try await $0.waitForSubscribers(configuration.agents[0].channel) }

                original.signal(SIGSTOP)
                defer { original.signal(SIGCONT) }
                var promoted: RedisServer?
                try await eventually("the replica is promoted", timeout: .seconds(30)) {
                    promoted = try await cluster.master(of: configuration.keyTag).flatMap { $0 !== original ? $0 : nil }
                    return promoted != nil
                }
                let other = try #require(cluster.nodes.first { $0 !== original && $0 !== promoted })
                try await other.withClient { publisher in
                    try await promoted!.withClient { client in
                        try await eventually("a heartbeat is mirrored on the new owner", timeout: .seconds(30)) {
                            try await publisher.publish(configuration.agents[0].channel, #"{"status":"ok"}"#)
                            return try await client.heartbeat(configuration, "mary") != nil
                        }
                    }
                }
            }
        }

        /// Heartbeats the mirror received but cannot store yet are not silence. The owner of the
        /// deployment's slot pauses writes (`CLIENT PAUSE WRITE`: the mirror's script waits, reads go
        /// on) while heartbeats keep coming over the cluster bus from another node. A check that read
        /// the stored, older heartbeat as it was called the agent offline: the false alert a writer
        /// starved under AddressSanitizer once sent.
        @Test func heartbeatsWaitingToBeStoredAreNotSilence() async throws {
            try await withClusterDeployment { cluster in
                let configuration = TestRedis.configuration(agents: ["mary"], threshold: .seconds(2))
                let channel = configuration.agents[0].channel
                let (connector, mirror, mirroring) = try startMirror(configuration, on: cluster)
                defer { mirroring.cancel() }
                let owner = try #require(try await cluster.master(of: configuration.keyTag))
                let other = try #require(cluster.masters.first { $0 !== owner })
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
                defer { try? FileManager.default.removeItem(atPath: folder) }
                try await withClosing(RedisClient(connector, name: "test-cluster-checker")) { client in
                    let checker = HeartbeatChecker(client: client, configuration: configuration)
                    let check = {
                        try await checker.check(writingMapTo: "\(folder)/map.json", mirror: mirror.statistics)
                    }
                    try await owner.withClient { owner in
                        try await other.withClient { publisher in
                            try await eventually("subscribed") { mirror.statistics.snapshot.isSubscribed }
                            try await publisher.publish(channel, #"{"status":"ok"}"#)
                            try await eventually("stored") { try await owner.heartbeat(configuration, "mary") != nil }
                            let stored = try #require(try await owner.heartbeat(configuration, "mary")).receivedAt

                            _ = try await owner.send("CLIENT", "PAUSE", "30000", "WRITE")
                            let beating = Task {
                                while !Task.isCancelled {
                                    try? await publisher.publish(channel, #"{"status":"ok"}"#)
                                    try? await Task.sleep(for: .milliseconds(100))
                                }
                            }
                            defer { beating.cancel() }
                            try await eventually("what Redis holds is older than the threshold") {
                                try await owner.serverMilliseconds() - stored > 2_500
                            }
                            let held = try await check()
                            #expect(mirror.statistics.unstoredSince != nil)
                            #expect(held.result.states[0].status != .offline, "a false offline")
                            #expect(held.uncertain == [0])
                            #expect(try await owner.heartbeat(configuration, "mary")?.receivedAt == stored)

                            _ = try await owner.send("CLIENT", "UNPAUSE")
                            try await eventually("stored once writes resume, and online for sure") {
                                let checked = try await check()
                                return checked.result.states[0].status == .online && checked.uncertain.isEmpty
                            }
                        }
                    }
                }
            }
        }

        /// The issue's scenario: three sidecars, the master of the deployment's slot killed with SIGKILL.
        @Test func sidecarsCarryOnWhenTheMasterIsKilled() async throws {
            try await withClusterDeployment { cluster in
                let configuration = FailoverScenario.configuration()
                try await FailoverScenario(
                    name: "Cluster",
                    url: cluster.url,
                    client: { try cluster.client(configuration) },
                    master: { try await cluster.master(of: configuration.keyTag) }
                ).run(configuration)
            }
        }
    }
}

@Suite("Cluster redirections")
struct ClusterRedirectTests {
    @Test func readsMovedAndAskWhereverTheyStand() {
        let moved = ClusterRedirect("MOVED 3999 127.0.0.1:6381")
        #expect(moved?.kind == .moved && moved?.slot == 3999 && moved?.host == "127.0.0.1" && moved?.port == 6381)
        let ask = ClusterRedirect("Redis refused 3 writes: ASK 12 ::1:7000")
        #expect(ask?.kind == .ask && ask?.host == "::1" && ask?.port == 7000)
        #expect(ClusterRedirect("MOVED 1 :7001")?.host == "")
        for text in ["READONLY You can't write", "MOVED x 1.2.3.4:1", "ASK 1 host", "MOVED 1 h:0", "MOVED 1"] {
            #expect(ClusterRedirect(text) == nil, "\(text)")
        }
    }
}
