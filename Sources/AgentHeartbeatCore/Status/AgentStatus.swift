public enum AgentStatus: String, Sendable, Codable, CaseIterable {
    /// Heard from within its offline threshold.
    case online
    /// Silent for longer than its offline threshold.
    case offline
    /// No heartbeat on record (never seen, or Redis lost it) for at most one offline threshold
    /// since a check first found none; after that such an agent is offline.
    case unknown
}

/// One agent's evaluated state at one instant.
public struct AgentState: Sendable, Equatable {
    // Declared so that `status` packs beside `lastHeartbeat`'s tag byte: a check holds one state per
    // agent, and its size shows in the check's time at 100,000 agents.
    public var agent: MonitorConfiguration.Agent
    /// Milliseconds since 1970, Redis server clock.
    public var lastHeartbeat: Int64?
    public var status: AgentStatus
    /// When a check first found no heartbeat on record for the agent (ms, Redis clock): monitoring
    /// of it began then, or Redis lost its data then. Nil when a heartbeat is on record.
    public var missingSince: Int64?
    /// Whole seconds the agent has been silent as far as is known, rounded down: since its last
    /// heartbeat, or since `missingSince`.
    public var secondsSilent: Int64?
    /// Whole seconds since the last heartbeat, rounded down; nil without one.
    public var secondsSinceHeartbeat: Int64? { lastHeartbeat == nil ? nil : secondsSilent }
    /// The last payload, a JSON object as the agent sent it.
    public var payload: ArraySlice<UInt8>?
    public var payloadError: String?

    /// The payload's `status` field, when it is text; read when needed, not for every agent.
    public var reportedStatus: String? {
        payload.flatMap { try? HeartbeatPayload.parse($0).get().reportedStatus }
    }

    /// Decides an agent's status from its record and the Redis server's `now` (milliseconds).
    /// Offline means strictly more than the threshold: exactly at the threshold is still online.
    /// Without a record, the agent is unknown for one threshold counted from `missingSince`, then
    /// offline: whatever Redis loses, a silent agent ends up alerted.
    public init(agent: MonitorConfiguration.Agent, record: HeartbeatRecord?, missingSince: Int64? = nil, now: Int64) {
        self.agent = agent
        let threshold = agent.offlineThreshold.wholeMilliseconds
        guard let record else {
            self.status = .unknown
            guard let missingSince else { return }
            let elapsed = max(0, now - missingSince)
            self.missingSince = missingSince
            self.secondsSilent = elapsed / 1000
            if elapsed > threshold { self.status = .offline }
            return
        }
        // A heartbeat stamped after `now` (a direct writer's clock) counts as just received.
        let elapsed = max(0, now - record.receivedAt)
        self.status = elapsed > threshold ? .offline : .online
        self.lastHeartbeat = record.receivedAt
        self.secondsSilent = elapsed / 1000
        self.payload = record.payload
        self.payloadError = record.error
    }
}
