import AgentHeartbeatCore
import AgentHeartbeatRedis

/// Reads the server clock, every agent's heartbeat key and alert record, and evaluates each agent
/// as its chunk arrives: an MGET and an HMGET per chunk of at most `chunkSize` agents, TIME first.
/// The requests depend only on the configuration, so they are encoded once (at 100,000 agents,
/// building them took a sixth of a check). Every chunk is sent before the first reply is read, so
/// Redis answers the next chunk while this one is parsed.
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
        var states: [AgentState]
        var alertRecords: [String: AlertRecord]
    }

    let agents: [MonitorConfiguration.Agent]
    let alertsKey: String
    let keyPrefix: String
    let keyTTL: Duration
    let chunks: [Range<Int>]
    /// Per chunk, `MGET <keys>` and `HMGET <alerts> <ids>` in the wire format.
    let requests: [[UInt8]]

    init(configuration: MonitorConfiguration, chunkSize: Int = 1000) {
        let agents = configuration.agents
        let chunks = stride(from: 0, to: agents.count, by: chunkSize).map { $0..<min($0 + chunkSize, agents.count) }
        requests = chunks.map { chunk in
            let ids = agents[chunk].map { $0.id }
            return RedisCommand.readHeartbeats(ids.map { configuration.heartbeatKey(for: $0) }).encoded
                + RedisCommand.readAlertRecords(configuration.alertsKey, ids: ids).encoded
        }
        self.agents = agents
        self.chunks = chunks
        alertsKey = configuration.alertsKey
        keyPrefix = configuration.keyPrefix
        keyTTL = configuration.keyTTL
    }

    func read(on connection: RedisConnection) throws(RedisError) -> Snapshot {
        let requestedAt = ContinuousClock.now
        try connection.append(.time)
        for request in requests { try connection.appendEncoded(request, commands: 2) }
        try connection.flush()
        let now = try connection.readReply().serverMilliseconds()
        var snapshot = Snapshot(now: now, readAt: .now, requestedAt: requestedAt, states: [], alertRecords: [:])
        snapshot.states.reserveCapacity(agents.count)
        var missing: [String] = []
        for chunk in chunks {
            let values = try connection.readReply().items(chunk.count, of: "MGET")
            for (agent, value) in zip(agents[chunk], values) {
                guard let stored = value.bytes else {
                    missing.append(agent.id)
                    snapshot.states.append(AgentState(agent: agent, record: nil, now: now))
                    continue
                }
                let record = HeartbeatRecord(stored: stored)
                let since = record == nil ? HeartbeatRecord.missingSince(stored: stored) : nil
                snapshot.states.append(AgentState(agent: agent, record: record, missingSince: since, now: now))
            }
            let fields = try connection.readReply().items(chunk.count, of: "HMGET \(alertsKey)")
            for (agent, field) in zip(agents[chunk], fields) {
                if let record = field.text.flatMap(AlertRecord.init(encoded:)) {
                    snapshot.alertRecords[agent.id] = record
                }
            }
        }
        try markMissing(missing, now: now, on: connection)
        return snapshot
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

extension RedisReply {
    /// An array reply of `count` items, as MGET and HMGET answer.
    fileprivate func items(_ count: Int, of command: String) throws(RedisError) -> [RedisReply] {
        if case .error(let message) = self { throw RedisError(.commandFailed, "\(command): \(message)") }
        guard let items = array, items.count == count else {
            throw RedisError(.unexpectedReply, "\(command) of \(count) keys returned \(shape)")
        }
        return items
    }
}
