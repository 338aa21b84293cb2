import AgentHeartbeatCore

extension RedisConnection {
    struct Snapshot {
        /// The Redis server's clock, milliseconds since 1970.
        var now: Int64
        var records: [HeartbeatRecord?]
        var alertRecords: [String: AlertRecord]
    }

    /// Reads the server clock, every agent's heartbeat key and alert record: one pipelined round
    /// trip per chunk of at most `chunkSize` agents (an MGET and an HMGET), TIME riding in the first.
    func readSnapshot(of configuration: MonitorConfiguration, chunkSize: Int = 1000) throws(RedisError) -> Snapshot {
        let agents = configuration.agents
        let alertsKey = configuration.alertsKey
        var snapshot = Snapshot(now: 0, records: [], alertRecords: [:])
        snapshot.records.reserveCapacity(agents.count)
        var start = 0
        repeat {
            let chunk = agents[start..<min(start + chunkSize, agents.count)]
            var commands: [RedisCommand] = start == 0 ? [.time] : []
            if !chunk.isEmpty {
                commands.append(.readHeartbeats(chunk.map { configuration.heartbeatKey(for: $0.id) }))
                commands.append(.readAlertRecords(alertsKey, ids: chunk.map(\.id)))
            }
            var replies = try pipeline(commands)[...]
            if start == 0 { snapshot.now = try replies.removeFirst().serverMilliseconds() }
            if !chunk.isEmpty {
                let values = try replies.removeFirst().items(chunk.count, of: "MGET")
                snapshot.records.append(contentsOf: values.map { $0.bytes.flatMap(HeartbeatRecord.init(stored:)) })
                let fields = try replies.removeFirst().items(chunk.count, of: "HMGET \(alertsKey)")
                for (agent, field) in zip(chunk, fields) {
                    if let record = field.text.flatMap(AlertRecord.init(encoded:)) { snapshot.alertRecords[agent.id] = record }
                }
            }
            start += chunkSize
        } while start < agents.count
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
