import AgentHeartbeatCore
import AgentHeartbeatRedis

/// Reads the server clock, every agent's heartbeat key and alert record, and evaluates each agent
/// as its chunk arrives: an MGET and an HMGET per chunk of at most `chunkSize` agents, TIME first.
/// Every chunk is sent before the first reply is read, so Redis answers the next chunk while this
/// one is evaluated. The requests are written chunk by chunk into one reused buffer: kept encoded
/// in advance they took 8 MB at 100,000 agents.
///
/// An agent whose key is empty (never heard from, or Redis lost it) gets a `missingMarker` with
/// the check's time, in one more round trip, only when there are such agents.
struct HeartbeatReader: Sendable {
    struct Snapshot {
        /// The Redis server's clock, milliseconds since 1970.
        var now: Int64
        var readAt: ContinuousClock.Instant
        /// Just before the requests went out: what was stored earlier is in what was read.
        var requestedAt: ContinuousClock.Instant
        var states: AgentStates
        var alertRecords: [String: AlertRecord]
    }

    let agents: [MonitorConfiguration.Agent]
    let alertsKey: String
    let keyPrefix: String
    let keyTTL: Duration
    let chunks: [Range<Int>]

    init(configuration: MonitorConfiguration, chunkSize: Int = 1000) {
        let agents = configuration.agents
        self.agents = agents
        chunks = stride(from: 0, to: agents.count, by: chunkSize).map { $0..<min($0 + chunkSize, agents.count) }
        alertsKey = configuration.alertsKey
        keyPrefix = configuration.keyPrefix
        keyTTL = configuration.keyTTL
    }

    func read(on connection: RedisConnection) throws(RedisError) -> Snapshot {
        let requestedAt = ContinuousClock.now
        try connection.append(.time)
        var writer = RedisCommandWriter()
        let heartbeatKeyPrefix = Array(MonitorConfiguration.heartbeatKeyPrefix(keyPrefix).utf8)
        for chunk in chunks {
            let ids = agents[chunk].map { $0.id }
            writer.removeAll()
            writer.readHeartbeats(keyPrefix: heartbeatKeyPrefix, ids: ids)
            writer.readAlertRecords(alertsKey, ids: ids)
            try connection.appendEncoded(writer.bytes, commands: 2)
            // Sent now, so that hiredis' output buffer never holds every chunk at once.
            try connection.flush()
        }
        try connection.flush()  // TIME alone, without agents
        let now = try connection.readReply().serverMilliseconds()
        let readAt = ContinuousClock.now
        // Evaluated in hiredis' reply, in place: nothing per agent is allocated.
        var states = AgentStates(agents: agents, now: now)
        var alertRecords: [String: AlertRecord] = [:]
        var missing: [String] = []
        for (number, chunk) in chunks.enumerated() {
            try connection.readArray(count: chunk.count, of: "MGET") { position, stored in
                if stored == nil { missing.append(agents[chunk.lowerBound + position].id) }
                states.append(stored: stored)
            }
            if number == 0, chunks.count > 1 {
                // Room for every payload at the first chunk's average size: the buffer seldom moves.
                states.reserveTextCapacity(states.textCount / chunk.count * (agents.count - chunk.count) * 9 / 8)
            }
            try connection.readArray(count: chunk.count, of: "HMGET \(alertsKey)") { position, field in
                guard let field, let record = AlertRecord(encoded: String(decoding: field, as: UTF8.self)) else {
                    return
                }
                alertRecords[agents[chunk.lowerBound + position].id] = record
            }
        }
        try markMissing(missing, now: now, on: connection)
        return Snapshot(now: now, readAt: readAt, requestedAt: requestedAt, states: states, alertRecords: alertRecords)
    }

    /// `SET <key> <missingMarker> NX EX <ttl>` for each agent found without a key. An error reply
    /// (out of memory, read-only replica) leaves those agents unknown until a later check marks them.
    private func markMissing(_ ids: [String], now: Int64, on connection: RedisConnection) throws(RedisError) {
        guard !ids.isEmpty else { return }
        let marker = HeartbeatRecord.missingMarker(since: now)
        let ttl = Array(String(keyTTL.wholeSeconds).utf8)
        for start in stride(from: 0, to: ids.count, by: 1000) {
            _ = try connection.pipeline(
                ids[start..<min(start + 1000, ids.count)].map { id in
                    let key = MonitorConfiguration.heartbeatKey(prefix: keyPrefix, agentID: id)
                    return .setIfAbsent(Array(key.utf8), marker, ttl: ttl)
                }
            )
        }
    }
}
