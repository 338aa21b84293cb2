import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Testing

/// The redis-server that the test command started (`scripts/test.sh` sets the variable).
enum TestRedis {
    static var url: RedisURL {
        get throws {
            guard let text = ProcessInfo.processInfo.environment["AGENT_HEARTBEAT_TEST_REDIS_URL"] else {
                throw TestSetupError(
                    "AGENT_HEARTBEAT_TEST_REDIS_URL is not set:"
                        + " run the tests with scripts/test.sh, which starts a redis-server"
                )
            }
            return try RedisURL(parsing: text)
        }
    }

    static func client() throws -> RedisClient { RedisClient(url: try url, name: "test-client") }

    /// A configuration whose keys and channels no other test uses.
    static func configuration(
        agents ids: [String],
        threshold: Duration = .seconds(300),
        interval: Duration = .seconds(60)
    ) -> MonitorConfiguration {
        let prefix = "test-\(UUID().uuidString.prefix(8).lowercased())"
        var configuration = MonitorConfiguration(
            agents: ids.map {
                .init(id: $0, name: $0.capitalized, channel: "\(prefix):heartbeat:\($0)", offlineThreshold: threshold)
            }
        )
        configuration.keyPrefix = prefix
        configuration.offlineThreshold = threshold
        configuration.checkInterval = interval
        return configuration
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension RedisClient {
    /// Runs one command and returns its reply.
    func send(_ command: RedisCommand) async throws -> RedisReply {
        try await withConnection { connection throws(RedisError) in try connection.call(command) }
    }

    func send(_ arguments: String...) async throws -> RedisReply {
        try await send(RedisCommand(arguments[0], arguments.dropFirst().map { Array($0.utf8) }))
    }

    /// Stores a silence as `agent-heartbeat silence add` would, whatever its times.
    func store(_ silence: Silence, for configuration: MonitorConfiguration) async throws {
        _ = try await send(
            RedisCommand("HSET", [Array(configuration.silencesKey.utf8), Array(silence.id.utf8), silence.encoded])
        )
    }

    func publish(_ channel: String, _ payload: String) async throws {
        _ = try await send(.publish(channel, Array(payload.utf8)))
    }

    func serverMilliseconds() async throws -> Int64 {
        let parts = try await send(.time).array ?? []
        return (parts[0].integer ?? 0) * 1000 + (parts[1].integer ?? 0) / 1000
    }

    /// Deletes every key of the configuration, under its tag or (as older versions named them) its prefix.
    func removeKeys(of configuration: MonitorConfiguration) async throws {
        for pattern in ["\\{\(configuration.keyPrefix)\\}:*", "\(configuration.keyPrefix):*"] {
            let keys = try await send("KEYS", pattern).array ?? []
            for key in keys { _ = try await send(RedisCommand("DEL", [key.bytes ?? []])) }
        }
    }

    /// Waits until someone is subscribed to the channel, so a test never publishes into the void.
    func waitForSubscribers(_ channel: String, count: Int64 = 1) async throws {
        try await eventually("\(count) subscriber(s) on \(channel)") {
            let reply = try await self.send("PUBSUB", "NUMSUB", channel)
            return (reply.array?.last?.integer ?? 0) >= count
        }
    }

    /// The agent's heartbeat record as stored, or nil when its key does not exist.
    func heartbeat(_ configuration: MonitorConfiguration, _ id: String) async throws -> HeartbeatRecord? {
        try await send("GET", configuration.heartbeatKey(for: id)).bytes.flatMap(HeartbeatRecord.init(stored:))
    }
}

extension HeartbeatRecord {
    var payloadText: String? { payload.map { String(decoding: $0, as: UTF8.self) } }
}

/// Polls `condition` until it holds or the deadline passes; never a fixed sleep that hopes.
func eventually(
    _ what: String,
    timeout: Duration = .seconds(20),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out after \(timeout) waiting for: \(what)", sourceLocation: sourceLocation)
    throw TestSetupError("timed out waiting for: \(what)")
}

extension MonitorConfiguration {
    /// The channel of the agent with this id.
    func channel(of id: String) -> String { agents.first { $0.id == id }?.channel ?? "" }
}
