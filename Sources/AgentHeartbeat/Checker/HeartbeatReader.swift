import AgentHeartbeatCore

extension RedisConnection {
    struct Snapshot {
        /// The Redis server's clock, milliseconds since 1970.
        var now: Int64
        var records: [HeartbeatRecord?]
        var alertRecords: [String: AlertRecord]
    }

    /// Reads the server clock, every agent's heartbeat key and alert record: one pipelined round
    /// trip per chunk of at most `chunkSize` agents, TIME riding in the first.
    func readSnapshot(of configuration: MonitorConfiguration, chunkSize: Int = 1000) throws(RedisError) -> Snapshot {
        let agents = configuration.agents
        let alertsKey = configuration.alertsKey
        var snapshot = Snapshot(now: 0, records: [], alertRecords: [:])
        snapshot.records.reserveCapacity(agents.count)
        var start = 0
        repeat {
            let chunk = agents[start..<min(start + chunkSize, agents.count)]
            var commands = chunk.map { RedisCommand.readHeartbeat(configuration.heartbeatKey(for: $0.id)) }
            if start == 0 { commands.insert(.time, at: 0) }
            if !chunk.isEmpty { commands.append(.readAlertRecords(alertsKey, ids: chunk.map(\.id))) }
            var replies = try pipeline(commands)[...]
            if start == 0 { snapshot.now = try replies.removeFirst().serverMilliseconds() }
            if let alertReply = chunk.isEmpty ? nil : replies.removeLast() {
                guard let fields = alertReply.array, fields.count == chunk.count else {
                    throw RedisError(.unexpectedReply, "HMGET \(alertsKey) returned \(alertReply)")
                }
                for (agent, field) in zip(chunk, fields) {
                    if let record = field.text.flatMap(AlertRecord.init(encoded:)) { snapshot.alertRecords[agent.id] = record }
                }
            }
            for reply in replies { snapshot.records.append(try HeartbeatRecord(hmgetReply: reply)) }
            start += chunkSize
        } while start < agents.count
        return snapshot
    }
}

extension HeartbeatRecord {
    /// From `HMGET key received_at_ms payload error`; nil when the key does not exist.
    init?(hmgetReply reply: RedisReply) throws(RedisError) {
        if case .error(let message) = reply { throw RedisError(.commandFailed, message) }
        guard let fields = reply.array, fields.count == 3 else { throw RedisError(.unexpectedReply, "HMGET returned \(reply)") }
        guard fields[0] != .null else { return nil }
        guard let receivedAt = fields[0].integer else {
            // A key written by hand without a valid time: shown, but as never heard from.
            return nil
        }
        self.init(receivedAt: receivedAt, payload: fields[1].bytes, error: fields[2].text)
    }
}
