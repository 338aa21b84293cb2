import AgentHeartbeatCore
import Foundation

/// One check: read every agent's key, evaluate against the Redis clock, build the status map.
public struct HeartbeatChecker: Sendable {
    public let client: RedisClient
    public let configuration: MonitorConfiguration
    let keys: [String]

    public init(client: RedisClient, configuration: MonitorConfiguration) {
        self.client = client
        self.configuration = configuration
        self.keys = configuration.agents.map { configuration.heartbeatKey(for: $0.id) }
    }

    public struct Result: Sendable {
        public var states: [AgentState]
        public var map: StatusMap
    }

    public func check() async throws -> Result {
        let (now, records) = try await client.withConnection { [keys] connection throws(RedisError) in
            try connection.readHeartbeats(keys: keys)
        }
        let states = zip(configuration.agents, records).map { AgentState(agent: $0, record: $1, now: now) }
        return Result(states: states, map: StatusMap(states: states, now: now))
    }
}
