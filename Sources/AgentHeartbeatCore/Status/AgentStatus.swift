public enum AgentStatus: String, Sendable, Codable, CaseIterable, BitwiseCopyable {
    /// Heard from within its offline threshold.
    case online
    /// Silent for longer than its offline threshold.
    case offline
    /// No heartbeat on record (never seen, or Redis lost it) for at most one offline threshold
    /// since a check first found none; after that such an agent is offline.
    case unknown
}

/// What an agent's heartbeats say beyond being heard from: `status` refined. Shown as the map's
/// `condition`; old readers keep reading `status`.
public enum AgentCondition: String, Sendable, Codable, CaseIterable, BitwiseCopyable {
    /// Heard from on time, reporting nothing wrong.
    case online
    /// Online, but silent for longer than its cadence (or `late_after_seconds`) allows.
    case late
    /// Online, but its last heartbeats report a failing status.
    case failing
    /// Online, but restarting more often than `max_restarts` in `restart_window_seconds`.
    case flapping
    case offline
    case unknown
}

/// One agent's evaluated state at one instant, with its agent and payload: what notifications
/// and tests handle. A check keeps its states by column instead (`AgentStates`).
public struct AgentState: Sendable, Equatable {
    public var agent: MonitorConfiguration.Agent
    /// The rules the agent follows (`MonitorConfiguration.rules(of:)`).
    public var rules: AgentRules
    public var evaluation: Evaluation
    /// The last payload, a JSON object as the agent sent it.
    public var payload: ArraySlice<UInt8>?
    public var payloadError: String?
    /// The silence covering the agent (`Assessment.silenced`).
    public var silenced: Assessment.Silencing?
    /// The id of the dependency whose trouble causes this agent's (`Assessment.suppressedBy`).
    public var suppressedBy: String?
    /// For a dependency that is down: its dependents in trouble, whose alerts its alert carries.
    public var affected: [MonitorConfiguration.Agent] = []

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
        /// `status` refined by the agent's rules and its heartbeat history (`judge`).
        public var condition: AgentCondition
        /// Consecutive heartbeats reporting a failing status.
        public var failingHeartbeats: Int32 = 0
        /// Restarts within the agent's restart window; -1 when heartbeats carry no instance.
        public var restarts: Int16 = -1
        /// The learned interval between heartbeats (ms), 0 while still learning.
        public var expectedInterval: Int32 = 0
        /// Silent since longer than this (ms) makes the agent late; 0 when nothing says.
        public var lateAfter: Int32 = 0

        /// Whole seconds since the last heartbeat, rounded down; nil without one.
        public var secondsSinceHeartbeat: Int64? { lastHeartbeat == nil ? nil : secondsSilent }

        /// Refines an online agent's condition with what its heartbeats told (`history`, nil for a
        /// record written by something else) under its `rules`, at `now` (ms). In order: failing
        /// (what it says outranks when it said it), flapping, late.
        public mutating func judge(history: HeartbeatHistory?, rules: AgentRules, now: Int64) {
            let learned = history?.lateAfterMilliseconds
            lateAfter = Int32(clamping: rules.lateAfter?.wholeMilliseconds ?? learned ?? 0)
            if let history {
                failingHeartbeats = Int32(clamping: history.failing)
                if history.intervals >= HeartbeatHistory.learnedAfter {
                    expectedInterval = Int32(clamping: history.meanMilliseconds)
                }
                if history.hasInstance {
                    restarts = Int16(clamping: history.restarts(since: now - rules.restartWindow.wholeMilliseconds))
                }
            }
            guard status == .online, let lastHeartbeat else { return }
            if let history, history.failing >= rules.failingAfterHeartbeats {
                condition = .failing
            } else if Int(restarts) > rules.maxRestarts {
                condition = .flapping
            } else if lateAfter > 0, now - lastHeartbeat > Int64(lateAfter) {
                condition = .late
            }
        }

        /// Decides an agent's status from when its last heartbeat arrived (nil without a record),
        /// its threshold and the Redis server's `now`, all in milliseconds. Offline means strictly more than the
        /// threshold: exactly at the threshold is still online. Without a record, the agent is
        /// unknown for one threshold counted from `missingSince`, then offline: whatever Redis
        /// loses, a silent agent ends up alerted.
        public init(threshold: Int64, receivedAt: Int64?, missingSince: Int64? = nil, now: Int64) {
            guard let receivedAt else {
                self.status = .unknown
                self.condition = .unknown
                guard let missingSince else { return }
                let elapsed = max(0, now - missingSince)
                self.missingSince = missingSince
                self.secondsSilent = elapsed / 1000
                if elapsed > threshold { (status, condition) = (.offline, .offline) }
                return
            }
            // A heartbeat stamped after `now` (a direct writer's clock) counts as just received.
            let elapsed = max(0, now - receivedAt)
            self.status = elapsed > threshold ? .offline : .online
            self.condition = elapsed > threshold ? .offline : .online
            self.lastHeartbeat = receivedAt
            self.secondsSilent = elapsed / 1000
        }
    }

    public init(
        agent: MonitorConfiguration.Agent,
        rules: AgentRules = AgentRules(),
        evaluation: Evaluation,
        payload: ArraySlice<UInt8>? = nil,
        payloadError: String? = nil
    ) {
        self.agent = agent
        self.rules = rules
        self.evaluation = evaluation
        self.payload = payload
        self.payloadError = payloadError
    }

    /// Evaluates `agent` with its record and rules (see `Evaluation`).
    public init(
        agent: MonitorConfiguration.Agent,
        rules: AgentRules = AgentRules(),
        record: HeartbeatRecord?,
        missingSince: Int64? = nil,
        now: Int64
    ) {
        var evaluation = Evaluation(
            threshold: agent.offlineThresholdMilliseconds,
            receivedAt: record?.receivedAt,
            missingSince: missingSince,
            now: now
        )
        evaluation.judge(history: record?.history, rules: rules, now: now)
        self.init(
            agent: agent,
            rules: rules,
            evaluation: evaluation,
            payload: record?.payload,
            payloadError: record?.error
        )
    }

    public var status: AgentStatus { evaluation.status }
    public var condition: AgentCondition { evaluation.condition }
    public var lastHeartbeat: Int64? { evaluation.lastHeartbeat }
    public var missingSince: Int64? { evaluation.missingSince }
    public var secondsSilent: Int64? { evaluation.secondsSilent }
    public var secondsSinceHeartbeat: Int64? { evaluation.secondsSinceHeartbeat }

    /// The payload's `status` field, when it is text; read when needed, not for every agent.
    public var reportedStatus: String? {
        payload.flatMap { try? HeartbeatPayload.parse($0).get().reportedStatus }
    }
}
