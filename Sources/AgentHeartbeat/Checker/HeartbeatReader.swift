import AgentHeartbeatCore

/// Reads the server clock, every agent's heartbeat key and alert record, and evaluates each agent
/// as its chunk arrives: an MGET and an HMGET per chunk of at most `chunkSize` agents, TIME first. The requests depend only on the
/// configuration, so they are encoded once (at 100,000 agents, building them took a sixth of a
/// check). Every chunk is sent before the first reply is read, so Redis answers the next chunk
/// while this one is parsed.
struct HeartbeatReader: Sendable {
    struct Snapshot {
        /// The Redis server's clock, milliseconds since 1970.
        var now: Int64
        var states: [AgentState]
        var alertRecords: [String: AlertRecord]
    }

    let agents: [MonitorConfiguration.Agent]
    let alertsKey: String
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
    }

    func read(on connection: RedisConnection) throws(RedisError) -> Snapshot {
        try connection.append(.time)
        for request in requests { try connection.appendEncoded(request) }
        try connection.flush()
        let now = try connection.readReply().serverMilliseconds()
        var snapshot = Snapshot(now: now, states: [], alertRecords: [:])
        snapshot.states.reserveCapacity(agents.count)
        for chunk in chunks {
            let values = try connection.readReply().items(chunk.count, of: "MGET")
            for (agent, value) in zip(agents[chunk], values) {
                snapshot.states.append(AgentState(agent: agent, record: value.bytes.flatMap(HeartbeatRecord.init(stored:)), now: now))
            }
            let fields = try connection.readReply().items(chunk.count, of: "HMGET \(alertsKey)")
            for (agent, field) in zip(agents[chunk], fields) {
                if let record = field.text.flatMap(AlertRecord.init(encoded:)) { snapshot.alertRecords[agent.id] = record }
            }
        }
        return snapshot
    }
}

extension RedisReply {
    /// An array reply of `count` items, as MGET and HMGET answer.
    fileprivate func items(_ count: Int, of command: String) throws(RedisError) -> [RedisReply] {
        if case .error(let message) = self { throw RedisError(.commandFailed, "\(command): \(message)") }
        guard let items = array, items.count == count else { throw RedisError(.unexpectedReply, "\(command) returned \(self)") }
        return items
    }
}
