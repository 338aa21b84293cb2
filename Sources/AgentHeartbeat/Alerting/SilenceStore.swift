import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation

/// The silences kept in Redis (hash `{key_prefix}:silences`, one field per id), shared by every
/// replica: `agent-heartbeat silence` writes them, every check reads them. Times on the Redis clock.
public struct SilenceStore: Sendable {
    let client: RedisClient
    let key: String

    public init(client: RedisClient, configuration: MonitorConfiguration) {
        self.client = client
        key = configuration.silencesKey
    }

    /// Longest silence: a forgotten one must end some day.
    public static let maximumDuration = Duration.seconds(366 * 86_400)

    /// Adds a silence from now for `duration`; returns it.
    public func add(target: String, duration: Duration, reason: String) async throws -> Silence {
        let (now, _) = try await list()
        let id = String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(8))
        let silence = Silence(
            id: id,
            target: target,
            until: now + duration.wholeMilliseconds,
            reason: reason,
            createdAt: now
        )
        let (key, value) = (Array(key.utf8), silence.encoded)
        _ = try await client.withConnection { connection throws(RedisError) in
            let reply = try connection.call(RedisCommand("HSET", [key, Array(id.utf8), value]))
            if case .error(let message) = reply { throw RedisError(replying: message, context: "HSET") }
        }
        return silence
    }

    /// The silences in force, the one ending first first, and the Redis clock; expired ones are deleted.
    public func list() async throws -> (now: Int64, silences: [Silence]) {
        let key = key
        return try await client.withConnection { connection throws(RedisError) in
            let replies = try connection.pipeline([.time, RedisCommand("HGETALL", key)])
            let now = try replies[0].serverMilliseconds()
            let all = try HeartbeatReader.silences(from: replies[1], key: key)
            let expired = all.filter { $0.until <= now }.map(\.id)
            if !expired.isEmpty { _ = try connection.call(.hdel(key, expired)) }
            return (now, all.filter { $0.until > now }.sorted { ($0.until, $0.id) < ($1.until, $1.id) })
        }
    }

    /// Removes the silence `id`; false when there is none.
    public func remove(id: String) async throws -> Bool {
        let key = key
        return try await client.withConnection { connection throws(RedisError) in
            try connection.call(.hdel(key, [id])).integer == 1
        }
    }
}
