import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Testing

@testable import AgentHeartbeat

@Suite("Key layout migration")
struct KeyLayoutMigrationTests {
    /// An upgrade from the names before the hash tag keeps heartbeats (and their TTL) and alert
    /// records, and never replaces a heartbeat already stored under the new name.
    @Test func legacyKeysMoveToTheirTaggedNames() async throws {
        let configuration = TestRedis.configuration(agents: ["mary", "paula", "lisa"])
        try await withTestRedis(removingKeysOf: configuration) { redis in
            _ = try await redis.send("SET", configuration.legacyHeartbeatKey(for: "mary"), "old-mary", "EX", "600")
            _ = try await redis.send("SET", configuration.legacyHeartbeatKey(for: "paula"), "old-paula")
            _ = try await redis.send("SET", configuration.heartbeatKey(for: "paula"), "new-paula")
            _ = try await redis.send("HSET", configuration.legacyAlertsKey, "mary", "1|2|3")
            // A check that ran first marked lisa missing: the marker gives way to her old heartbeat.
            _ = try await redis.send("SET", configuration.legacyHeartbeatKey(for: "lisa"), "old-lisa")
            _ = try await redis.send("SET", configuration.heartbeatKey(for: "lisa"), #"{"missing_since_ms":1}"#)

            let moved = try await redis.withConnection { connection throws(RedisError) in
                try KeyLayoutMigration.run(configuration, on: connection)
            }
            #expect(moved == 3)
            #expect(try await redis.send("GET", configuration.heartbeatKey(for: "lisa")).text == "old-lisa")
            #expect(try await redis.send("GET", configuration.heartbeatKey(for: "mary")).text == "old-mary")
            let ttl = try await redis.send("TTL", configuration.heartbeatKey(for: "mary")).integer ?? 0
            #expect((590...600).contains(ttl))
            #expect(try await redis.send("GET", configuration.heartbeatKey(for: "paula")).text == "new-paula")
            #expect(try await redis.send("HGET", configuration.alertsKey, "mary").text == "1|2|3")
            #expect(try await redis.send("EXISTS", configuration.legacyHeartbeatKey(for: "mary")).integer == 0)

            let again = try await redis.withConnection { connection throws(RedisError) in
                try KeyLayoutMigration.run(configuration, on: connection)
            }
            #expect(again == 0)
        }
    }

    /// The sidecar moves them itself at start-up: an agent silent since before the upgrade keeps
    /// its last heartbeat.
    @Test func theSidecarMovesThemAtStartUp() async throws {
        let configuration = TestRedis.configuration(agents: ["mary"], threshold: .seconds(60), interval: .seconds(1))
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let longAgo = try await redis.serverMilliseconds() - 3_600_000
            _ = try await redis.send(
                "SET",
                configuration.legacyHeartbeatKey(for: "mary"),
                #"{"received_at_ms":\#(longAgo),"payload":{"status":"old"}}"#
            )
            let sidecar = try SidecarProcess.running(configuration, redisURL: "\(try TestRedis.url)")
            // A sidecar starting while the whole suite runs on two cores may take a while.
            try await eventually("the old heartbeat is under its new name", timeout: .seconds(60)) {
                try await redis.heartbeat(configuration, "mary")?.payloadText == #"{"status":"old"}"#
            }
            // Silence from before the sidecar listened is not counted (unknown for a threshold), but
            // the map still says when mary was last heard from.
            try await eventually("the map shows mary's last heartbeat from before the upgrade") {
                let agent = (sidecar.map()?["agents"] as? [String: Any])?["mary"] as? [String: Any]
                return (agent?["seconds_since_heartbeat"] as? Int ?? 0) >= 3600
            }
            #expect(sidecar.output.contains("moved keys to their {key_prefix} names"))
            sidecar.signal(SIGTERM)
            #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
        }
    }
}
