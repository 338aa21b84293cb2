/// What agents.yaml says: which agents to watch and how.
public struct MonitorConfiguration: Sendable, Equatable {
    /// One monitored agent.
    public struct Agent: Sendable, Equatable, Identifiable {
        public var id: String
        public var name: String
        /// Silent longer than this means offline (the agent's override or the global default);
        /// whole milliseconds.
        public var offlineThreshold: Duration {
            get { .milliseconds(offlineThresholdMilliseconds) }
            set { offlineThresholdMilliseconds = newValue.wholeMilliseconds }
        }
        /// Kept as milliseconds: a check compares it with every agent's silence, and converting a
        /// `Duration` each time was a tenth of evaluating an agent.
        public private(set) var offlineThresholdMilliseconds: Int64
        /// Only a channel other than the default is stored: at 100,000 agents the default ones
        /// took 5 MB that the id already says.
        private var customChannel: String?
        /// Which of the configuration's `rules` apply (0: the global ones).
        public var rulesIndex: Int32 = 0

        public init(id: String, name: String, channel: String? = nil, offlineThreshold: Duration = .seconds(300)) {
            self.id = id
            self.name = name
            self.offlineThresholdMilliseconds = offlineThreshold.wholeMilliseconds
            self.channel = channel ?? Self.defaultChannel(for: id)
        }

        public var hasDefaultChannel: Bool { customChannel == nil }

        /// The pub/sub channel the agent publishes its heartbeats on.
        public var channel: String {
            get { customChannel ?? Self.defaultChannel(for: id) }
            set { customChannel = newValue == Self.defaultChannel(for: id) ? nil : newValue }
        }

        public static func defaultChannel(for id: String) -> String { defaultChannelPrefix + id }

        public static let defaultChannelPrefix = "agents:heartbeat:"
    }

    public var offlineThreshold: Duration = .seconds(300)
    public var checkInterval: Duration = .seconds(60)
    public var alertCooldown: Duration = .seconds(1800)
    /// Prefix of every Redis key this tool owns.
    public var keyPrefix: String = "agents"
    /// How long a mirrored heartbeat is kept; always longer than every offline threshold.
    public var keyTTL: Duration = .seconds(604_800)
    public var agents: [Agent] = []
    /// A heartbeat whose `status` is one of these (compared in lower case) counts as failing.
    public var failingStatuses: Set<String> = ["error", "fail", "failed", "failing", "critical", "down"]
    /// The distinct rules agents follow; index 0 holds the global keys (see `Agent.rulesIndex`).
    public var rules: [AgentRules] = [AgentRules()]
    /// Agent id → the ids it depends on (only agents with `depends_on`).
    public var dependencies: [String: [String]] = [:]
    public var groups: [AgentGroup] = []
    public var maintenance: [MaintenanceWindow] = []
    /// Receivers of notifications (`notifiers`); empty: Telegram from the environment, if set.
    public var notifiers: [NotifierConfiguration] = []
    /// Who is told about agents and groups without `notify`; nil: every notifier.
    public var defaultNotifiers: [String]?
    /// How long state changes are kept (`history_retention_seconds`); an agent's latest one is
    /// kept however old.
    public var historyRetention: Duration = .seconds(30 * 86_400)
    /// How many per-minute points of each agent's metric series are kept (`series_retention_minutes`);
    /// 0: no series.
    public var seriesRetentionMinutes = 60

    public init(agents: [Agent] = []) {
        self.agents = agents
    }

    /// The rules `agent` follows.
    public func rules(of agent: Agent) -> AgentRules { rules[Int(agent.rulesIndex)] }

    /// Gives `agent` its own `rules` (shared with agents that have the same ones).
    public mutating func set(_ agentRules: AgentRules, forAgentAt index: Int) {
        if let found = rules.firstIndex(of: agentRules) {
            agents[index].rulesIndex = Int32(found)
        } else {
            rules.append(agentRules)
            agents[index].rulesIndex = Int32(rules.count - 1)
        }
    }

    /// Whether a payload status counts as failing.
    public func isFailing(status: String) -> Bool { Self.isFailing(status, in: failingStatuses) }

    /// Whether `status` is one of `statuses` (lower case); a status already in lower case is
    /// looked up without making a lowered copy (the mirror asks once per stored heartbeat).
    public static func isFailing(_ status: String, in statuses: Set<String>) -> Bool {
        statuses.contains(status) || statuses.contains(status.lowercased())
    }

    /// `{key_prefix}`: the hash tag every key of a deployment starts with, so that in a Redis
    /// Cluster they all live in one slot and every script and MGET stays on one node.
    public var keyTag: String { Self.keyTag(keyPrefix) }

    public static func keyTag(_ prefix: String) -> String { "{\(prefix)}" }

    /// The Redis key that holds an agent's last heartbeat (see README, "Redis key contract").
    public func heartbeatKey(for agentID: String) -> String { Self.heartbeatKey(prefix: keyPrefix, agentID: agentID) }

    public static func heartbeatKey(prefix: String, agentID: String) -> String {
        heartbeatKeyPrefix(prefix) + agentID
    }

    /// What every heartbeat key starts with, the agent's id following.
    public static func heartbeatKeyPrefix(_ prefix: String) -> String { "\(keyTag(prefix)):last:" }

    /// The hash of alert records, one field per agent id.
    public var alertsKey: String { "\(keyTag):alerts" }

    /// The hash of recovery action records, one field per agent and action (`RecoveryAction.Record`).
    public var actionsKey: String { "\(keyTag):actions" }

    /// The hash of silences, one field per silence id (see `Silence`).
    public var silencesKey: String { "\(keyTag):silences" }

    /// A group's field in the hash of alert records: agent ids cannot hold a colon.
    public static func groupAlertField(_ groupID: String) -> String { "group:\(groupID)" }

    /// An agent's state changes, a list oldest first (`StateChange.entry`).
    public func historyKey(for agentID: String) -> String { "\(keyTag):history:\(agentID)" }

    /// An agent's metric series, a list of per-minute points, oldest first (`MetricSeries`).
    public func seriesKey(for agentID: String) -> String { "\(keyTag):series:\(agentID)" }

    /// The leader lock: which replica sends notifications.
    public var leaderKey: String { "\(keyTag):leader" }

    /// Set while a notifier must wait (its service's Retry-After, or the backoff after a failure),
    /// so a new leader waits too.
    public func retryAfterKey(notifier: String) -> String { "\(keyTag):notify:\(notifier):retry_after" }

    /// A notifier's queue of notifications to deliver, oldest first (see `QueuedNotification`).
    public func queueKey(notifier: String) -> String { "\(keyTag):notify:\(notifier):queue" }

    /// The receivers named for an agent or group (`notify`), else the defaults; nil stands for every
    /// receiver there is (no `default_notifiers`, or Telegram from the environment).
    public func receivers(named notify: [String]?) -> [String]? { notify ?? defaultNotifiers }

    /// Names of versions before the hash tag (`<prefix>:last:<id>`, `<prefix>:alerts`), which
    /// `KeyLayoutMigration` moves.
    public func legacyHeartbeatKey(for agentID: String) -> String { "\(keyPrefix):last:\(agentID)" }

    public var legacyAlertsKey: String { "\(keyPrefix):alerts" }
}

extension Duration {
    /// Whole seconds, as agents.yaml and Redis TTLs count them.
    public var wholeSeconds: Int64 { components.seconds }

    /// Whole milliseconds, as heartbeat times are stored.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
