import AgentHeartbeatCore
import AgentHeartbeatRedis

/// Reads one agent's history and metric series from Redis for the API, in one round trip after
/// reading the clock.
struct AgentRecordsReader: Sendable {
    let client: RedisClient

    struct Records: Sendable {
        /// The Redis clock when read (ms).
        var now: Int64
        /// The latest changes, newest first.
        var recent: [StateChange]
        /// The changes of the last 24 hours and the one before, oldest first.
        var day: [StateChange]
        /// Uptime per window (`Uptime.windows`).
        var uptime: [String: Uptime]
        var series: [String: [APIDocument.Point]]
    }

    func read(agentID: String, configuration: MonitorConfiguration, historyLimit: Int) async throws -> Records {
        let historyKey = configuration.historyKey(for: agentID)
        let seriesKey = configuration.seriesKey(for: agentID)
        let longest = Uptime.windows.map(\.milliseconds).max()!
        return try await client.withConnection { connection throws(RedisError) in
            let now = try connection.call(.time).serverMilliseconds()
            let start = String(now - longest)
            let replies = try connection.pipeline([
                RedisCommand("XREVRANGE", historyKey, "+", "-", "COUNT", String(historyLimit)),
                RedisCommand("XREVRANGE", historyKey, "(" + start, "-", "COUNT", "1"),
                RedisCommand("XRANGE", historyKey, start, "+"),
                RedisCommand("LRANGE", seriesKey, "0", "-1"),
            ])
            for reply in replies {
                if case .error(let message) = reply { throw RedisError(replying: message, context: "reading history") }
            }
            let changes = Self.changes(replies[1]) + Self.changes(replies[2])
            // Each window needs the last change before it: the longest window's reads hold it.
            func since(_ window: Int64) -> [StateChange] {
                Array(changes[(changes.lastIndex { $0.at <= now - window } ?? 0)...])
            }
            var uptime: [String: Uptime] = [:]
            for (name, window) in Uptime.windows {
                uptime[name] = Uptime(changes: since(window), window: window, now: now)
            }
            return Records(
                now: now,
                recent: Self.changes(replies[0]),
                day: since(Uptime.windows[0].milliseconds),
                uptime: uptime,
                series: MetricSeries.points(from: (replies[3].array ?? []).compactMap(\.text))
            )
        }
    }

    /// Stream entries (`[[id, [field, value, …]], …]`) as state changes; others are skipped.
    static func changes(_ reply: RedisReply) -> [StateChange] {
        (reply.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].text, let list = parts[1].array else {
                return nil
            }
            var fields: [String: String] = [:]
            for pair in stride(from: 0, to: list.count - 1, by: 2) {
                if let name = list[pair].text, let value = list[pair + 1].text { fields[name] = value }
            }
            return StateChange(id: id, fields: fields)
        }
    }
}
