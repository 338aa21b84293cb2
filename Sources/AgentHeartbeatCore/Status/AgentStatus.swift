public enum AgentStatus: String, Sendable, Codable, CaseIterable, BitwiseCopyable {
    /// Heard from within its offline threshold.
    case online
    /// Silent for longer than its offline threshold.
    case offline
    /// No heartbeat on record (never seen, or Redis lost it) for at most one offline threshold
    /// since a check first found none; after that such an agent is offline.
    case unknown
}

/// One agent's evaluated state at one instant, with its agent and payload: what notifications
/// and tests handle. A check keeps its states by column instead (`AgentStates`).
public struct AgentState: Sendable, Equatable {
    public var agent: MonitorConfiguration.Agent
    public var evaluation: Evaluation
    /// The last payload, a JSON object as the agent sent it.
    public var payload: ArraySlice<UInt8>?
    public var payloadError: String?

    /// What a check concludes about an agent, apart from the agent and its payload. Plain data:
    /// a check holds one per agent, and copying 100,000 of them must count no references.
    public struct Evaluation: Sendable, Equatable, BitwiseCopyable {
        // Declared so that `status` packs beside `lastHeartbeat`'s tag byte.
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

        /// Decides an agent's status from when its last heartbeat arrived (nil without a record),
        /// its threshold and the Redis server's `now`, all in milliseconds. Offline means strictly more than the
        /// threshold: exactly at the threshold is still online. Without a record, the agent is
        /// unknown for one threshold counted from `missingSince`, then offline: whatever Redis
        /// loses, a silent agent ends up alerted.
        public init(threshold: Int64, receivedAt: Int64?, missingSince: Int64? = nil, now: Int64) {
            guard let receivedAt else {
                self.status = .unknown
                guard let missingSince else { return }
                let elapsed = max(0, now - missingSince)
                self.missingSince = missingSince
                self.secondsSilent = elapsed / 1000
                if elapsed > threshold { self.status = .offline }
                return
            }
            // A heartbeat stamped after `now` (a direct writer's clock) counts as just received.
            let elapsed = max(0, now - receivedAt)
            self.status = elapsed > threshold ? .offline : .online
            self.lastHeartbeat = receivedAt
            self.secondsSilent = elapsed / 1000
        }
    }

    public init(
        agent: MonitorConfiguration.Agent,
        evaluation: Evaluation,
        payload: ArraySlice<UInt8>? = nil,
        payloadError: String? = nil
    ) {
        self.agent = agent
        self.evaluation = evaluation
        self.payload = payload
        self.payloadError = payloadError
    }

    /// Evaluates `agent` with its record (see `Evaluation`).
    public init(agent: MonitorConfiguration.Agent, record: HeartbeatRecord?, missingSince: Int64? = nil, now: Int64) {
        let evaluation = Evaluation(
            threshold: agent.offlineThresholdMilliseconds,
            receivedAt: record?.receivedAt,
            missingSince: missingSince,
            now: now
        )
        self.init(agent: agent, evaluation: evaluation, payload: record?.payload, payloadError: record?.error)
    }

    public var status: AgentStatus {
        get { evaluation.status }
        set { evaluation.status = newValue }
    }
    public var lastHeartbeat: Int64? { evaluation.lastHeartbeat }
    public var missingSince: Int64? { evaluation.missingSince }
    public var secondsSilent: Int64? { evaluation.secondsSilent }
    public var secondsSinceHeartbeat: Int64? { evaluation.secondsSinceHeartbeat }

    /// The payload's `status` field, when it is text; read when needed, not for every agent.
    public var reportedStatus: String? {
        payload.flatMap { try? HeartbeatPayload.parse($0).get().reportedStatus }
    }
}
