import Metrics

/// Metric names in one place; `declare()` creates the unlabelled series at zero so dashboards
/// and alerts see them before the first event.
public enum SidecarMetrics {
    /// Every metric's name, here and nowhere else (README, "HTTP: probes, metrics, dashboard").
    public enum Name {
        public static let agents = "agent_heartbeat_agents"
        public static let agentsByCondition = "agent_heartbeat_agents_by_condition"
        public static let agentsSilenced = "agent_heartbeat_agents_silenced"
        public static let agentsSuppressed = "agent_heartbeat_agents_suppressed"
        public static let agentCondition = "agent_heartbeat_agent_condition"
        public static let agentExpectedInterval = "agent_heartbeat_agent_expected_interval_seconds"
        public static let groupOnline = "agent_heartbeat_group_online"
        public static let groupMinOnline = "agent_heartbeat_group_min_online"
        public static let groupBelowQuorum = "agent_heartbeat_group_below_quorum"
        public static let agentUp = "agent_heartbeat_agent_up"
        public static let secondsSinceHeartbeat = "agent_heartbeat_seconds_since_heartbeat"
        public static let heartbeatsReceived = "agent_heartbeat_heartbeats_received_total"
        public static let heartbeats = "agent_heartbeat_heartbeats_total"
        public static let malformedPayloads = "agent_heartbeat_malformed_payloads_total"
        public static let notificationsSent = "agent_heartbeat_notifications_sent_total"
        public static let notificationsFailed = "agent_heartbeat_notifications_failed_total"
        public static let notificationsRetried = "agent_heartbeat_notifications_retried_total"
        public static let notificationsDropped = "agent_heartbeat_notifications_dropped_total"
        public static let notificationsQueued = "agent_heartbeat_notifications_queued"
        public static let recoveryActions = "agent_heartbeat_recovery_actions_total"
        public static let leader = "agent_heartbeat_leader"
        public static let checkDuration = "agent_heartbeat_check_duration_seconds"
        public static let redisReconnects = "agent_heartbeat_redis_reconnects_total"
        public static let configReloads = "agent_heartbeat_config_reloads_total"
        public static let degraded = "agent_heartbeat_degraded"
        public static let subscribedChannels = "agent_heartbeat_subscribed_channels"
        public static let expectedChannels = "agent_heartbeat_expected_channels"
        public static let unstoredSeconds = "agent_heartbeat_unstored_seconds"
        public static let historyFailures = "agent_heartbeat_history_failures_total"
        public static let agentMetric = "agent_heartbeat_agent_metric"
        public static let apiHeartbeats = "agent_heartbeat_api_heartbeats_total"
    }

    /// Per-agent series (`{agent="…"}`) are exported up to this many agents. Above it they would
    /// swamp Prometheus (and cost seconds per check to update), so only the totals are kept.
    public static let perAgentLimit = 1000

    static func perAgent(_ agentCount: Int) -> Bool { agentCount <= perAgentLimit }

    public static func declare() {
        for result in ["ok", "failed"] { _ = Counter(label: Name.configReloads, dimensions: [("result", result)]) }
        _ = Counter(label: Name.redisReconnects)
        _ = Counter(label: Name.heartbeats)
        _ = Counter(label: Name.historyFailures)
        Gauge(label: Name.degraded).record(0)
    }
}
