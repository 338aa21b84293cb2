import AgentHeartbeatCore
import Foundation

/// One check: read every agent's key and evaluate it against the Redis clock.
public struct HeartbeatChecker: Sendable {
    public let client: RedisClient
    public let configuration: MonitorConfiguration
    public init(client: RedisClient, configuration: MonitorConfiguration) {
        self.client = client
        self.configuration = configuration
    }

    public struct Result: Sendable {
        /// The Redis server's clock at the check, milliseconds since 1970.
        public var now: Int64
        public var states: [AgentState]
        /// What was last told about each agent (see `AlertRecord`).
        public var alertRecords: [String: AlertRecord]

        /// The status map of this result; `order` is `StatusMapRenderer.keyOrder` when known.
        public func map(order: [Int]? = nil) -> StatusMapRenderer {
            StatusMapRenderer(states: states, now: now, alertRecords: alertRecords, order: order)
        }
    }

    public func check() async throws -> Result {
        let snapshot = try await client.withConnection { [configuration] connection throws(RedisError) in
            try connection.readSnapshot(of: configuration)
        }
        let states = zip(configuration.agents, snapshot.records).map { AgentState(agent: $0, record: $1, now: snapshot.now) }
        return Result(now: snapshot.now, states: states, alertRecords: snapshot.alertRecords)
    }
}
