public enum AgentStatus: String, Sendable, Codable, CaseIterable {
    /// Heard from within its offline threshold.
    case online
    /// Silent for longer than its offline threshold.
    case offline
    /// No heartbeat on record (never seen, or its key expired).
    case unknown
}

/// One agent's evaluated state at one instant.
public struct AgentState: Sendable, Equatable {
    public var agent: MonitorConfiguration.Agent
    public var status: AgentStatus
    /// Milliseconds since 1970, Redis server clock.
    public var lastHeartbeat: Int64?
    /// Whole seconds since the last heartbeat, rounded down.
    public var secondsSinceHeartbeat: Int64?
    /// The last payload, a JSON object as the agent sent it.
    public var payload: ArraySlice<UInt8>?
    public var payloadError: String?

    /// The payload's `status` field, when it is text; read when needed, not for every agent.
    public var reportedStatus: String? {
        payload.flatMap { try? HeartbeatPayload.parse($0).get().reportedStatus }
    }

    /// Decides an agent's status from its record and the Redis server's `now` (milliseconds).
    /// Offline means strictly more than the threshold: exactly at the threshold is still online.
    public init(agent: MonitorConfiguration.Agent, record: HeartbeatRecord?, now: Int64) {
        self.agent = agent
        guard let record else {
            self.status = .unknown
            return
        }
        // A heartbeat stamped after `now` (a direct writer's clock) counts as just received.
        let elapsed = max(0, now - record.receivedAt)
        self.status = elapsed > agent.offlineThreshold.wholeMilliseconds ? .offline : .online
        self.lastHeartbeat = record.receivedAt
        self.secondsSinceHeartbeat = elapsed / 1000
        self.payload = record.payload
        self.payloadError = record.error
    }
}
