import AgentHeartbeatCore
import AgentHeartbeatRedis

/// Reads the server clock, every agent's heartbeat key and alert record, and evaluates each agent
/// as its chunk arrives: an MGET and an HMGET per chunk of at most `chunkSize` agents, TIME first.
/// A few chunks are kept in flight (`chunksAhead`), so Redis answers the next ones while this one is
/// evaluated (and its part of the map written, see `HeartbeatChecker`). Chunks follow the map's
/// order of agent ids. The requests are written chunk by chunk into one reused buffer: kept
/// encoded in advance they took 8 MB at 100,000 agents.
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
        /// Keyed by agent id, and `group:<id>` for groups.
        var alertRecords: [String: AlertRecord]
        var silences: [Silence]
    }

    let agents: [MonitorConfiguration.Agent]
    let rules: [AgentRules]
    let silencesKey: String
    /// The alert records' fields of the groups.
    let groupFields: [String]
    /// The map's agent order (see `StatusMapRenderer.keyOrder`), in which chunks are read.
    let order: [Int]
    let alertsKey: String
    let keyPrefix: String
    let keyTTL: Duration
    /// Ranges of `order`.
    let chunks: [Range<Int>]
    /// Chunks requested before the first is read, and kept in flight: enough that Redis never
    /// waits for the next request while this side evaluates and renders. Sent all at once, the
    /// requests took a fifth of a check before the first reply was looked at.
    static let chunksAhead = 8

    init(configuration: MonitorConfiguration, chunkSize: Int = 1000) {
        let agents = configuration.agents
        self.agents = agents
        rules = configuration.rules
        silencesKey = configuration.silencesKey
        groupFields = configuration.groups.map { MonitorConfiguration.groupAlertField($0.id) }
        order = StatusMapRenderer.keyOrder(of: agents)
        chunks = stride(from: 0, to: agents.count, by: chunkSize).map { $0..<min($0 + chunkSize, agents.count) }
        alertsKey = configuration.alertsKey
        keyPrefix = configuration.keyPrefix
        keyTTL = configuration.keyTTL
    }

    /// Reads every agent; after each chunk, `chunkRead` gets the states so far, the indices of the
    /// agents just read (in the map's order), when the server's clock was read and the silences.
    /// A throw from it ends the read, with replies unread (`RedisClient` then drops the connection).
    func read(
        on connection: RedisConnection,
        chunkRead: (inout AgentStates, ArraySlice<Int>, ContinuousClock.Instant, [Silence]) throws -> Void = {
            _,
            _,
            _,
            _ in
        }
    ) throws -> Snapshot {
        let requestedAt = ContinuousClock.now
        try connection.append(.time)
        try connection.append(RedisCommand("HGETALL", silencesKey))
        if !groupFields.isEmpty { try connection.append(RedisCommand("HMGET", [alertsKey] + groupFields)) }
        var writer = RedisCommandWriter()
        let heartbeatKeyPrefix = Array(MonitorConfiguration.heartbeatKeyPrefix(keyPrefix).utf8)
        func request(_ chunk: Range<Int>) throws(RedisError) {
            let ids = order[chunk].map { agents[$0].id }
            writer.removeAll()
            writer.readHeartbeats(keyPrefix: heartbeatKeyPrefix, ids: ids)
            writer.readAlertRecords(alertsKey, ids: ids)
            try connection.appendEncoded(writer.bytes, commands: 2)
            try connection.flush()
        }
        for chunk in chunks.prefix(Self.chunksAhead) { try request(chunk) }
        try connection.flush()  // TIME alone, without agents
        let now = try connection.readReply().serverMilliseconds()
        let readAt = ContinuousClock.now
        let silences = try Self.silences(from: connection.readReply(), key: silencesKey)
        var alertRecords: [String: AlertRecord] = [:]
        if !groupFields.isEmpty {
            let reply = try connection.readReply()
            guard let fields = reply.array, fields.count == groupFields.count else {
                throw RedisError(.unexpectedReply, "HMGET \(alertsKey) returned \(reply.shape)")
            }
            for (field, value) in zip(groupFields, fields) {
                if let text = value.text, let record = AlertRecord(encoded: text) { alertRecords[field] = record }
            }
        }
        // Evaluated in hiredis' buffer, in place: nothing per agent is allocated.
        var states = AgentStates(agents: agents, rules: rules, now: now)
        var missing: [String] = []
        for (number, chunk) in chunks.enumerated() {
            let indices = order[chunk]
            try connection.readArray(count: chunk.count, of: "MGET") { position, stored in
                let index = indices[chunk.lowerBound + position]
                if stored == nil { missing.append(agents[index].id) }
                states.read(stored: stored, at: index)
            }
            if number == 0, chunks.count > 1 {
                // Room for every payload at the first chunk's average size: the buffer seldom moves.
                states.reserveTextCapacity(states.textCount / chunk.count * (agents.count - chunk.count) * 9 / 8)
            }
            try connection.readArray(count: chunk.count, of: "HMGET \(alertsKey)") { position, field in
                guard let field, let record = AlertRecord(encoded: String(decoding: field, as: UTF8.self)) else {
                    return
                }
                alertRecords[agents[indices[chunk.lowerBound + position]].id] = record
            }
            try chunkRead(&states, indices, readAt, silences)
            if number + Self.chunksAhead < chunks.count { try request(chunks[number + Self.chunksAhead]) }
        }
        try markMissing(missing, now: now, on: connection)
        return Snapshot(
            now: now,
            readAt: readAt,
            requestedAt: requestedAt,
            states: states,
            alertRecords: alertRecords,
            silences: silences
        )
    }

    /// The silences in an HGETALL reply; fields that do not hold one are skipped. An error reply
    /// fails the check: without its silences, it could alert what people silenced.
    static func silences(from reply: RedisReply, key: String) throws(RedisError) -> [Silence] {
        guard let items = reply.array else {
            throw RedisError(.unexpectedReply, "HGETALL \(key) returned \(reply.shape)")
        }
        return stride(from: 1, to: items.count, by: 2).compactMap { items[$0].bytes.flatMap(Silence.init(stored:)) }
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
