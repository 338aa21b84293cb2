import AgentHeartbeatCore

/// A Lua script run with EVALSHA; all of this project's scripts are named here.
public struct RedisScript: Sendable {
    public var name: String
    public var source: String
}

extension RedisScript {
    /// Stores a heartbeat as the agent's last one, unless the key already holds a later one, and
    /// carries what was learnt from the agent's heartbeats (`HeartbeatHistory`) into the new record.
    ///
    /// KEYS[1] the heartbeat key, KEYS[2] (optional) the agent's metric series (`MetricSeries`).
    /// ARGV[1] TTL in seconds, ARGV[2] the record's fields after the time
    /// (`HeartbeatRecord.storedFields`), ARGV[3] received time in ms ('' = now on the server clock),
    /// ARGV[4] '1' when the heartbeat reports a failing status, ARGV[5] the payload's hash, ARGV[6]
    /// the instance's hash ('' without one), ARGV[7] restart times to keep, ARGV[8] for how long (ms),
    /// ARGV[9] per-minute points to keep in the series ('0': none), ARGV[10...] declared metrics as
    /// `name=value`.
    /// The series gets the interval since the previous heartbeat and the metrics, folded into the
    /// current minute's point (last, min, max).
    /// Returns 1 when stored, 0 when a later heartbeat was already there, or the same one (its hash,
    /// within a second: another replica's copy). Monotonic, so a late or duplicate write from another
    /// replica never moves the last heartbeat backwards nor counts twice.
    ///
    /// The interval's mean and deviation are weighted averages (weight 1/(n+1) for the first ten,
    /// then 0.1); an interval above three means (an outage, not a cadence) counts as three means.
    public static let mirrorHeartbeat = RedisScript(
        name: "mirror_heartbeat",
        source: """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local at = tonumber(ARGV[3]) or now
            if at > now then at = now end
            local hash, current = ARGV[5] or '', ARGV[6] or ''
            local n, mean, dev, failing, instance, restarts = 0, 0, 0, 0, '', ''
            local previousAt = nil
            local previous = redis.pcall('GET', KEYS[1])
            if type(previous) == 'string' then
              local stored, pn, pm, pd, pf, ph, pi, pr = string.match(previous,
                '^{"\(HeartbeatRecord.Field.receivedAt)":(%d+),"\(HeartbeatRecord.Field.beats)":"'
                  .. '(%d+):(%d+):(%d+):(%d+):(%x*):(%x*):([%d,]*)"')
              if not stored then stored = string.match(previous, '^{"\(HeartbeatRecord.Field.receivedAt)":(%d+)') end
              stored = tonumber(stored)
              if stored then
                if stored > at then return 0 end
                previousAt = stored
                if pn then
                  if ph == hash and at - stored < 1000 then return 0 end
                  n, mean, dev, failing = tonumber(pn), tonumber(pm), tonumber(pd), tonumber(pf)
                  instance, restarts = pi, pr
                  local interval = at - stored
                  if n > 0 and interval > 3 * mean then interval = 3 * mean end
                  local weight = 0.1
                  if n < 9 then weight = 1 / (n + 1) end
                  local diff = interval - mean
                  mean = mean + weight * diff
                  dev = math.sqrt((1 - weight) * (dev * dev + weight * diff * diff))
                  if n < 1000000 then n = n + 1 end
                end
              end
            end
            if ARGV[4] == '1' then
              if failing < 1000000 then failing = failing + 1 end
            else
              failing = 0
            end
            local restarted = current ~= '' and instance ~= '' and instance ~= current
            if restarts ~= '' or restarted then
              local keep, horizon = tonumber(ARGV[7]) or 0, tonumber(ARGV[8]) or 0
              local kept = {}
              for r in string.gmatch(restarts, '%d+') do
                if at - tonumber(r) <= horizon then kept[#kept + 1] = r end
              end
              if restarted then kept[#kept + 1] = string.format('%d', at) end
              while #kept > keep do table.remove(kept, 1) end
              restarts = table.concat(kept, ',')
            end
            if current ~= '' then instance = current end
            redis.call('SET', KEYS[1], string.format(
              '{"\(HeartbeatRecord.Field.receivedAt)":%d,"\(HeartbeatRecord.Field.beats)":"%d:%d:%d:%d:%s:%s:%s",%s}',
              at, n, math.floor(mean + 0.5), math.floor(dev + 0.5), failing, hash, instance, restarts, ARGV[2]),
              'EX', ARGV[1])
            if KEYS[2] and ARGV[9] ~= '0' then
              local last = redis.pcall('LINDEX', KEYS[2], -1)
              -- A series key of another type is left alone; the heartbeat counts all the same.
              if type(last) == 'table' then return 1 end
              local values = {}
              if previousAt then values[1] = {'\(MetricSeries.intervalName)', (at - previousAt) / 1000} end
              for i = 10, #ARGV do
                local name, value = string.match(ARGV[i], '^([%w_]+)=(.+)$')
                if name and tonumber(value) then values[#values + 1] = {name, tonumber(value)} end
              end
              if #values > 0 then
                local minute = math.floor(at / 60000)
                local points, order, same = {}, {}, false
                if last and tonumber(string.match(last, '^(%d+)')) == minute then
                  same = true
                  for name, l, lo, hi in string.gmatch(last, '|([%w_]+)=([^,|]+),([^,|]+),([^,|]+)') do
                    points[name] = {tonumber(l), tonumber(lo), tonumber(hi)}
                    order[#order + 1] = name
                  end
                end
                for _, pair in ipairs(values) do
                  local name, v = pair[1], pair[2]
                  local point = points[name]
                  if point then
                    point[1] = v
                    if v < point[2] then point[2] = v end
                    if v > point[3] then point[3] = v end
                  else
                    points[name] = {v, v, v}
                    order[#order + 1] = name
                  end
                end
                local parts = {string.format('%d', minute)}
                for _, name in ipairs(order) do
                  local point = points[name]
                  parts[#parts + 1] = string.format('%s=%.10g,%.10g,%.10g', name, point[1], point[2], point[3])
                end
                local entry = table.concat(parts, '|')
                if same then
                  redis.call('LSET', KEYS[2], -1, entry)
                else
                  -- Trimmed and given its TTL once a minute, not at every heartbeat.
                  redis.call('RPUSH', KEYS[2], entry)
                  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[9]), -1)
                  redis.call('EXPIRE', KEYS[2], ARGV[1])
                end
              end
            end
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

    /// Queues notifications and stores the alert records they carry, in one step and only while
    /// holding the leader lock: an event is either queued and recorded (never due again) or neither
    /// (due again at the next check). KEYS[1] lock, KEYS[2] alert records, KEYS[3...] queues.
    /// ARGV[1] token, ARGV[2] the number of record fields n, then n field/value pairs, then for
    /// each queue in KEYS order the number of entries and the entries. Returns 1 when done, 0 when
    /// another replica holds the lock.
    public static let enqueueNotifications = RedisScript(
        name: "enqueue_notifications",
        source: """
            if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
            local n = tonumber(ARGV[2])
            -- One call per item: unpack() would stop at Lua's stack limit (about 8,000 values).
            for i = 0, n - 1 do redis.call('HSET', KEYS[2], ARGV[3 + 2 * i], ARGV[4 + 2 * i]) end
            local at = 3 + 2 * n
            for q = 3, #KEYS do
              local count = tonumber(ARGV[at])
              for i = 1, count do redis.call('RPUSH', KEYS[q], ARGV[at + i]) end
              at = at + count + 1
            end
            return 1
            """
    )

    /// Removes the head of a queue once delivered (or dropped), if it is still `entry` and this
    /// replica still holds the lock, and restarts the cooldown of the alerts it delivered: the
    /// alert records of ARGV[4...] that are alerted and were last notified before ARGV[3] (ms)
    /// take that time (a receiver that was down for a while gets no reminder right after the
    /// alert). KEYS[1] lock, KEYS[2] queue, KEYS[3] alert records, ARGV[1] token, ARGV[2] entry.
    /// Returns 1 when removed.
    public static let popNotification = RedisScript(
        name: "pop_notification",
        source: """
            if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
            if redis.call('LINDEX', KEYS[2], 0) ~= ARGV[2] then return 0 end
            redis.call('LPOP', KEYS[2])
            local at = tonumber(ARGV[3])
            for i = 4, #ARGV do
              local record = redis.call('HGET', KEYS[3], ARGV[i])
              if type(record) == 'string' then
                local notified, rest = string.match(record, '^1|(%d+)(|.*)$')
                if notified and tonumber(notified) < at then
                  redis.call('HSET', KEYS[3], ARGV[i], '1|' .. ARGV[3] .. rest)
                end
              end
            end
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

    /// Appends each agent's observed state to its history (a list, oldest first, of
    /// `StateChange.entry`s) when it differs from the last one recorded, and no replica recorded one
    /// from a later check. Every replica runs it after each check: the first to see a change records
    /// it, the others find it there, so a change is recorded once however many replicas see it, and
    /// an older check's view never follows a newer one. KEYS[i] agent i's history. ARGV[1] the
    /// check's Redis time (ms), ARGV[2] the oldest change to keep (ms), ARGV[3] the most changes to
    /// keep, then per agent: state, since (ms), reason. A change's time is clamped between the last
    /// one's and the check's; the newest change is never trimmed. Returns each agent's recorded state,
    /// or '!' where its key holds another type (left alone).
    public static let recordHistory = RedisScript(
        name: "record_history",
        source: """
            local now, keep, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
            local result = {}
            for i = 1, #KEYS do
              local state, since, reason = ARGV[3 * i + 1], tonumber(ARGV[3 * i + 2]), ARGV[3 * i + 3]
              local current, lastAt, seen = nil, 0, 0
              local last = redis.pcall('LINDEX', KEYS[i], -1)
              if type(last) == 'table' then
                -- A key of another type: left alone, told, and the other agents recorded.
                result[i] = '!'
              else
                if last then
                  local at, by, to = string.match(last, '^(%d+)|(%d+)|%a*|(%a+)|')
                  if at then lastAt, seen, current = tonumber(at), tonumber(by), to end
                end
                if current ~= state and now > seen then
                  if since < lastAt then since = lastAt end
                  if since > now then since = now end
                  redis.call('RPUSH', KEYS[i],
                    string.format('%d|%d|%s|%s|%s', since, now, current or '', state, reason))
                  while redis.call('LLEN', KEYS[i]) > 1 do
                    local first = tonumber(string.match(redis.call('LINDEX', KEYS[i], 0), '^(%d+)'))
                    if first and first >= keep then break end
                    redis.call('LPOP', KEYS[i])
                  end
                  redis.call('LTRIM', KEYS[i], -cap, -1)
                  current = state
                end
                result[i] = current or ''
              end
            end
            return result
            """
    )
}
