import AgentHeartbeatCore
import AgentHeartbeatRedis

/// Decides which replica sends notifications: `SET <prefix>:leader <token> NX PX <ttl>`, renewed by
/// the holder with a compare-and-pexpire script and released with compare-and-delete.
/// It is for efficiency, not correctness: alert state is recorded only after a delivery.
struct LeaderLock: Sendable {
    let key: String
    /// `<replica name>/<random>`: unique per process, and says who leads.
    let token: String
    let ttl: Duration

    /// Takes the lock if it is free, renews it if this replica holds it. Returns the holder's token
    /// (this replica's when it leads), or nil when nobody holds it.
    func acquireOrRenew(on connection: RedisConnection) throws(RedisError) -> String? {
        let milliseconds = String(ttl.wholeMilliseconds)
        // Renew first: PEXPIRE still works when Redis is out of memory, SET does not.
        if let holder = try connection.call(.eval(.renewLeader, keys: [key], arguments: [token, milliseconds])).text {
            return holder
        }
        if try connection.call(.setIfAbsent(key, token, milliseconds: milliseconds)) != .null { return token }
        return try connection.call(.get(key)).text
    }

    /// HSETs `fields` (name, value, …) into `hash` only while this replica holds the lock.
    /// Returns whether they were stored.
    func store(_ fields: [String], in hash: String, on connection: RedisConnection) throws(RedisError) -> Bool {
        try connection.call(.eval(.fencedHashSet, keys: [key, hash], arguments: [token] + fields)).integer == 1
    }

    func release(on connection: RedisConnection) throws(RedisError) {
        try connection.call(.eval(.releaseLeader, keys: [key], arguments: [token]))
    }
}
