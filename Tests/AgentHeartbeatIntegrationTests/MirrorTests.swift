import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import InMemoryLogging
import Logging
import ServiceLifecycleTestKit
import Testing

/// Runs a mirror for `configuration` while `body` runs, then shuts it down gracefully. Against the
/// test command's Redis unless `server` is given; `subscribed: false` starts `body` at once.
func withMirror(
    _ configuration: MonitorConfiguration,
    on server: RedisServer? = nil,
    subscribed: Bool = true,
    logs: InMemoryLogHandler = InMemoryLogHandler(),
    _ body: @Sendable (HeartbeatMirror, RedisClient) async throws -> Void
) async throws {
    let url = try server?.url ?? TestRedis.url
    let mirror = HeartbeatMirror(url: url, configuration: configuration, logger: Logger(label: "test") { _ in logs })
    let cleanUp: (RedisClient) async -> Void = { client in
        try? await client.removeKeys(of: configuration)
        await client.close()
    }
    try await withCleanup(RedisClient(url: url, name: "test-client"), cleanUp: cleanUp) { client in
        try await run(mirror, for: configuration, with: client, subscribed: subscribed, body)
    }
}

private func run(
    _ mirror: HeartbeatMirror,
    for configuration: MonitorConfiguration,
    with client: RedisClient,
    subscribed: Bool,
    _ body: @Sendable (HeartbeatMirror, RedisClient) async throws -> Void
) async throws {
    try await testGracefulShutdown { shutdown in
        async let mirrored: Void = mirror.run()
        do {
            if subscribed { for agent in configuration.agents { try await client.waitForSubscribers(agent.channel) } }
            try await body(mirror, client)
        } catch {
            shutdown.triggerGracefulShutdown()
            try? await mirrored
            throw error
        }
        shutdown.triggerGracefulShutdown()
        try await mirrored
    }
}

@Suite("Mirror: pub/sub into TTL'd keys")
struct MirrorTests {
    @Test func heartbeatIsStoredWithTTLAndServerTime() async throws {
        let configuration = {
            var configuration = TestRedis.configuration(agents: ["mary"])
            configuration.keyTTL = .seconds(900)
            return configuration
        }()
        try await withMirror(configuration) { mirror, redis in
            let before = try await redis.serverMilliseconds()
            try await redis.publish(configuration.agents[0].channel, #"{"status":"ok","signals_sent":42}"#)
            try await eventually("key written") { try await redis.heartbeat(configuration, "mary") != nil }
            let after = try await redis.serverMilliseconds()

            let stored = try await redis.send("GET", configuration.heartbeatKey(for: "mary")).text ?? ""
            let record = try #require(HeartbeatRecord(stored: Array(stored.utf8)))
            let payload = #"{"status":"ok","signals_sent":42}"#
            let hash = String(
                decoding: HeartbeatFacts.hex(
                    payload.utf8.withContiguousStorageIfAvailable {
                        HeartbeatFacts(payload: $0, usable: true) { _ in false }
                    }!.payloadHash
                ),
                as: UTF8.self
            )
            // The first heartbeat: nothing learnt yet but its hash (see `HeartbeatHistory`).
            #expect(
                stored
                    == #"{"received_at_ms":\#(record.receivedAt),"beats":"0:0:0:0:\#(hash)::","payload":\#(payload)}"#
            )
            #expect(record.error == nil)
            #expect((before...after).contains(record.receivedAt))
            let ttl = try await redis.send("TTL", configuration.heartbeatKey(for: "mary")).integer ?? -1
            #expect((895...900).contains(ttl))
            #expect(mirror.statistics.snapshot.received == 1)
        }
    }

    /// An agent whose channel carries the deployment's hash tag publishes with SPUBLISH (sharded
    /// pub/sub): heard beside a classic one, both counted as Redis confirms them.
    @Test func shardChannelIsHeardBesideAClassicOne() async throws {
        let configuration = {
            var configuration = TestRedis.configuration(agents: ["mary", "paula"])
            configuration.agents[1].channel = "\(configuration.keyTag):heartbeat:paula"
            return configuration
        }()
        try await withMirror(configuration, subscribed: false) { mirror, redis in
            try await eventually("both channels confirmed") {
                let snapshot = mirror.statistics.snapshot
                return snapshot.subscribedChannels == 2 && snapshot.isSubscribed
            }
            let shardSubscribers = try await redis.send("PUBSUB", "SHARDNUMSUB", configuration.agents[1].channel)
            #expect(shardSubscribers.array?.last?.integer == 1)
            _ = try await redis.send("SPUBLISH", configuration.agents[1].channel, #"{"status":"sharded"}"#)
            try await redis.publish(configuration.agents[0].channel, #"{"status":"classic"}"#)
            try await eventually("both stored") {
                let paula = try await redis.heartbeat(configuration, "paula")?.payloadText
                let mary = try await redis.heartbeat(configuration, "mary")?.payloadText
                return paula == #"{"status":"sharded"}"# && mary == #"{"status":"classic"}"#
            }
        }
    }

    @Test func lateWriteNeverMovesTheLastHeartbeatBackwards() async throws {
        let configuration = TestRedis.configuration(agents: ["mary"])
        try await withMirror(configuration) { _, redis in
            try await redis.publish(configuration.agents[0].channel, #"{"status":"new"}"#)
            try await eventually("key written") { try await redis.heartbeat(configuration, "mary") != nil }
            let stored = try #require(try await redis.heartbeat(configuration, "mary"))
            let receivedAt = stored.receivedAt

            // Another replica delivering an older heartbeat late: refused, key unchanged.
            let key = configuration.heartbeatKey(for: "mary")
            let late = try await redis.send(.storeHeartbeat(key, payload: #"{"status":"old"}"#, at: receivedAt - 1))
            #expect(late == .integer(0))
            #expect(try await redis.heartbeat(configuration, "mary") == stored)

            // The same heartbeat again (another replica's copy) is refused, even a little later.
            for delay: Int64 in [0, 5, 999] {
                let copy = try await redis.send(
                    .storeHeartbeat(key, payload: #"{"status":"new"}"#, at: receivedAt + delay)
                )
                #expect(copy == .integer(0))
            }
            #expect(try await redis.heartbeat(configuration, "mary") == stored)

            // A newer heartbeat wins.
            try await redis.publish(configuration.agents[0].channel, #"{"status":"newer"}"#)
            try await eventually("newer heartbeat stored") {
                try await redis.heartbeat(configuration, "mary")?.payloadText == #"{"status":"newer"}"#
            }
        }
    }

    @Test func badPayloadsAreCountedAndFlaggedAndNothingCrashes() async throws {
        let configuration = TestRedis.configuration(agents: ["text", "list", "huge", "binary", "good"])
        let logs = InMemoryLogHandler()
        try await withMirror(configuration, logs: logs) { mirror, redis in
            let channels = Dictionary(uniqueKeysWithValues: configuration.agents.map { ($0.id, $0.channel) })
            try await redis.publish(channels["text"]!, "I am alive")
            try await redis.publish(channels["list"]!, "[1,2,3]")
            _ = try await redis.send(.publish(channels["huge"]!, Array(repeating: UInt8(ascii: "x"), count: 1 << 20)))
            _ = try await redis.send(.publish(channels["binary"]!, [0x00, 0xFF, 0xC3, 0x28, 0x7B, 0x0A]))
            try await redis.publish(channels["good"]!, #"{"status":"ok"}"#)

            try await eventually("all five stored") {
                for agent in configuration.agents where try await redis.heartbeat(configuration, agent.id) == nil {
                    return false
                }
                return true
            }
            #expect(mirror.statistics.snapshot.received == 5)
            #expect(mirror.statistics.snapshot.malformed == 4)
            #expect(try await redis.heartbeat(configuration, "text")?.error == "payload is not valid JSON")
            #expect(try await redis.heartbeat(configuration, "list")?.error == "payload is JSON but not an object")
            #expect(
                try await redis.heartbeat(configuration, "huge")?.error
                    == "payload of 1048576 bytes is larger than the 65536-byte limit"
            )
            #expect(try await redis.heartbeat(configuration, "binary")?.error == "payload is not valid JSON")
            let good = try await redis.heartbeat(configuration, "good")
            #expect(good?.payloadText == #"{"status":"ok"}"#)
            #expect(good?.error == nil)

            // The same agent misbehaving again within the minute is counted but not logged again.
            for _ in 0..<3 { try await redis.publish(channels["text"]!, "still not JSON") }
            try await eventually("repeats counted") { mirror.statistics.snapshot.malformed == 7 }
            let warnings = logs.entries.filter { $0.message == "malformed heartbeat payload" }
            #expect(warnings.count == 4)
            #expect(warnings.filter { $0.metadata["agent"] == "text" }.count == 1)
        }
    }

    @Test func burstKeepsEveryAgentsLatestHeartbeat() async throws {
        let ids = (0..<10).map { "agent-\($0)" }
        let configuration = TestRedis.configuration(agents: ids)
        let perAgent = 500
        try await withMirror(configuration) { mirror, redis in
            let commands = (0..<perAgent).flatMap { sequence in
                configuration.agents.map {
                    RedisCommand.publish($0.channel, Array(#"{"status":"ok","sequence":\#(sequence)}"#.utf8))
                }
            }
            _ = try await redis.withConnection { connection throws(RedisError) in try connection.pipeline(commands) }
            try await eventually("all \(commands.count) heartbeats received") {
                mirror.statistics.snapshot.received == commands.count
            }
            for id in ids {
                try await eventually("\(id) holds its last heartbeat") {
                    try await redis.heartbeat(configuration, id)?.payloadText
                        == #"{"status":"ok","sequence":\#(perAgent - 1)}"#
                }
            }
            #expect(mirror.statistics.snapshot.malformed == 0)
        }
    }
}
