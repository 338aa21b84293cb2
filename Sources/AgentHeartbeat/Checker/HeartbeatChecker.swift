import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation

/// One check: read every agent's key and evaluate it against the Redis clock. Made once per
/// configuration: what depends only on it (requests, the map's order) is prepared here.
public struct HeartbeatChecker: Sendable {
    public let client: RedisClient
    public let configuration: MonitorConfiguration
    let reader: HeartbeatReader
    /// The map's agent order (see `StatusMapRenderer.keyOrder`).
    let order: [Int]

    public init(client: RedisClient, configuration: MonitorConfiguration) {
        self.client = client
        self.configuration = configuration
        reader = HeartbeatReader(configuration: configuration)
        order = StatusMapRenderer.keyOrder(of: configuration.agents)
    }

    public struct Result: Sendable {
        /// The Redis server's clock at the check, milliseconds since 1970.
        public var now: Int64
        /// This process's monotonic clock when `now` was read: later Redis times derive from it.
        public var readAt: ContinuousClock.Instant
        /// Just before the check's requests went out: records stored earlier are in `alertRecords`.
        public var requestedAt: ContinuousClock.Instant
        public var states: AgentStates
        /// What was last told about each agent (see `AlertRecord`).
        public var alertRecords: [String: AlertRecord]
        let order: [Int]

        /// The Redis clock at `instant`, as far as this process's clock tells.
        public func serverMilliseconds(at instant: ContinuousClock.Instant) -> Int64 {
            now + (instant - readAt).wholeMilliseconds
        }

        /// The status map of this result.
        public var statusMap: StatusMapRenderer {
            StatusMapRenderer(states: states, alertRecords: alertRecords, order: order)
        }
    }

    public func check() async throws -> Result {
        let snapshot = try await client.withConnection { [reader] connection throws(RedisError) in
            try reader.read(on: connection)
        }
        return Result(
            now: snapshot.now,
            readAt: snapshot.readAt,
            requestedAt: snapshot.requestedAt,
            states: snapshot.states,
            alertRecords: snapshot.alertRecords,
            order: order
        )
    }
}
