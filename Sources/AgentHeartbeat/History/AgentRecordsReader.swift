import AgentHeartbeatCore
import AgentHeartbeatRedis

/// Reads one agent's history and metric series from Redis for the API, in one round trip.
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
        return try await client.withConnection { connection throws(RedisError) in
            // Every change kept (bounded by the retention and `StateChange.maximumKept`), oldest first.
            let replies = try connection.pipeline([
                .time, RedisCommand("LRANGE", historyKey, "0", "-1"), RedisCommand("LRANGE", seriesKey, "0", "-1"),
            ])
            for reply in replies {
                if case .error(let message) = reply { throw RedisError(replying: message, context: "reading history") }
            }
            let now = try replies[0].serverMilliseconds()
            let changes = (replies[1].array ?? []).compactMap { $0.text.flatMap(StateChange.init(entry:)) }
            // Each window needs the last change before it.
            func since(_ window: Int64) -> [StateChange] {
                Array(changes[(changes.lastIndex { $0.at <= now - window } ?? 0)...])
            }
            var uptime: [String: Uptime] = [:]
            for (name, window) in Uptime.windows {
                uptime[name] = Uptime(changes: since(window), window: window, now: now)
            }
            return Records(
                now: now,
                recent: changes.suffix(historyLimit).reversed(),
                day: since(Uptime.windows[0].milliseconds),
                uptime: uptime,
                series: MetricSeries.points(from: (replies[2].array ?? []).compactMap(\.text))
            )
        }
    }
}
