import AgentHeartbeatCore

extension RedisConnection {
    /// Reads the server clock and every agent's heartbeat key: one pipelined round trip per
    /// chunk of at most `chunkSize` keys, TIME riding in the first.
    func readHeartbeats(keys: [String], chunkSize: Int = 1000) throws(RedisError) -> (now: Int64, records: [HeartbeatRecord?]) {
        var now: Int64?
        var records: [HeartbeatRecord?] = []
        records.reserveCapacity(keys.count)
        var start = 0
        repeat {
            let chunk = keys[start..<min(start + chunkSize, keys.count)]
            var commands = chunk.map(RedisCommand.readHeartbeat)
            if now == nil { commands.insert(.time, at: 0) }
            var replies = try pipeline(commands)[...]
            if now == nil { now = try replies.removeFirst().serverMilliseconds() }
            for reply in replies { records.append(try HeartbeatRecord(hmgetReply: reply)) }
            start += chunkSize
        } while start < keys.count
        return (now!, records)
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
