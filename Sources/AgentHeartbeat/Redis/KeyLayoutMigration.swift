import AgentHeartbeatCore
import AgentHeartbeatRedis

/// Moves the keys of versions before the hash tag (`agents:last:<id>`, `agents:alerts`) to their
/// tagged names (`{agents}:last:<id>`, `{agents}:alerts`), so an upgrade keeps every agent's last
/// heartbeat and alert state. Idempotent: a key is moved only where its new name is free, so a
/// newer heartbeat already stored under the new name is never replaced. Reads first, 1,000 names a
/// round trip: with nothing left to move it costs 100 EXISTS calls at 100,000 agents.
enum KeyLayoutMigration {
    static let chunkSize = 1000

    /// Returns how many keys were moved.
    static func run(_ configuration: MonitorConfiguration, on connection: RedisConnection) throws(RedisError) -> Int {
        let pairs =
            [(configuration.legacyAlertsKey, configuration.alertsKey)]
            + configuration.agents.map {
                (configuration.legacyHeartbeatKey(for: $0.id), configuration.heartbeatKey(for: $0.id))
            }
        var moved = 0
        for start in stride(from: 0, to: pairs.count, by: chunkSize) {
            let chunk = pairs[start..<min(start + chunkSize, pairs.count)]
            guard try connection.call(RedisCommand("EXISTS", chunk.map(\.0))).integer ?? 0 > 0 else { continue }
            let replies = try connection.pipeline(
                chunk.map { .eval(.renameIfAbsent, keys: [$0.0, $0.1], arguments: []) }
            )
            for reply in replies {
                if case .error(let message) = reply { throw RedisError(replying: message, context: "moving keys") }
                moved += Int(reply.integer ?? 0)
            }
        }
        return moved
    }
}
