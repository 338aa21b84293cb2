import AgentHeartbeatCore
import Foundation

/// Decides which replica sends notifications: `SET <prefix>:leader <token> NX PX <ttl>`, renewed by
/// the holder with a compare-and-pexpire script and released with compare-and-delete.
/// It is for efficiency, not correctness: alert state is recorded only after a delivery.
struct LeaderLock: Sendable {
    let key: String
    let token = UUID().uuidString
    let ttl: Duration

    /// Takes the lock if it is free, renews it if this replica holds it; true when it does.
    func acquireOrRenew(on connection: RedisConnection) throws(RedisError) -> Bool {
        let milliseconds = String(ttl.wholeMilliseconds)
        if try connection.call(RedisCommand("SET", key, token, "NX", "PX", milliseconds)) != .null { return true }
        return try connection.call(.eval(.renewLeader, keys: [key], arguments: [token, milliseconds])) == .integer(1)
    }

    func release(on connection: RedisConnection) throws(RedisError) {
        try connection.call(.eval(.releaseLeader, keys: [key], arguments: [token]))
    }
}
