import AgentHeartbeatCore

/// A Lua script run with EVALSHA; all of this project's scripts are named here.
public struct RedisScript: Sendable {
    public var name: String
    public var source: String
}

extension RedisScript {
    /// Stores a heartbeat as the agent's last one, unless the key already holds a later one.
    ///
    /// KEYS[1] the heartbeat key. ARGV[1] TTL in seconds, ARGV[2] the record's fields after the time
    /// (`HeartbeatRecord.storedFields`), ARGV[3] received time in ms ('' = now on the server clock).
    /// Returns 1 when stored, 0 when a later heartbeat was already there. Monotonic, so a late or
    /// duplicate write from another replica never moves the last heartbeat backwards.
    public static let mirrorHeartbeat = RedisScript(
        name: "mirror_heartbeat",
        source: """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local at = tonumber(ARGV[3]) or now
            if at > now then at = now end
            local previous = redis.pcall('GET', KEYS[1])
            if type(previous) == 'string' then
              local stored = tonumber(string.match(previous, '^{"\(HeartbeatRecord.Field.receivedAt)":(%d+)'))
              if stored and stored > at then return 0 end
            end
            local record = '{"\(HeartbeatRecord.Field.receivedAt)":' .. string.format('%d', at) .. ',' .. ARGV[2] .. '}'
            redis.call('SET', KEYS[1], record, 'EX', ARGV[1])
            return 1
            """
    )

    /// Extends the leader lock if this replica holds it; returns the holder's token (nil if none).
    /// KEYS[1] lock, ARGV[1] token, ARGV[2] TTL ms.
    public static let renewLeader = RedisScript(
        name: "renew_leader",
        source: """
            local holder = redis.call('GET', KEYS[1])
            if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
            return holder
            """
    )

    /// Deletes the leader lock if this replica holds it. KEYS[1] lock, ARGV[1] token.
    public static let releaseLeader = RedisScript(
        name: "release_leader",
        source: """
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0
            """
    )

    /// HSET only while holding the leader lock. KEYS[1] lock, KEYS[2] hash, ARGV[1] token,
    /// ARGV[2...] field, value, … Returns 1 when stored, 0 when another replica holds the lock.
    public static let fencedHashSet = RedisScript(
        name: "fenced_hash_set",
        source: """
            if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
            redis.call('HSET', KEYS[2], unpack(ARGV, 2))
            return 1
            """
    )

    /// Renames KEYS[1] to KEYS[2] unless KEYS[2] holds something other than a check's
    /// missing-heartbeat marker (RENAME keeps the TTL). Returns 1 when moved.
    public static let renameIfAbsent = RedisScript(
        name: "rename_if_absent",
        source: """
            if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
            if redis.call('EXISTS', KEYS[2]) == 1 then
              local current = redis.pcall('GET', KEYS[2])
              local marker = '{"\(HeartbeatRecord.Field.missingSince)":'
              if type(current) ~= 'string' or string.sub(current, 1, #marker) ~= marker then return 0 end
            end
            redis.call('RENAME', KEYS[1], KEYS[2])
            return 1
            """
    )
}
