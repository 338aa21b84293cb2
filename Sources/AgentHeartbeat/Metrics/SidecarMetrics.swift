import Metrics

/// Metric names in one place; `declare()` creates the unlabelled series at zero so dashboards
/// and alerts see them before the first event.
public enum SidecarMetrics {
    /// Per-agent series (`{agent="…"}`) are exported up to this many agents. Above it they would
    /// swamp Prometheus (and cost seconds per check to update), so only the totals are kept.
    public static let perAgentLimit = 1000

    static func perAgent(_ agentCount: Int) -> Bool { agentCount <= perAgentLimit }

    public static func declare() {
        for result in ["ok", "failed"] { _ = Counter(label: "agent_heartbeat_config_reloads_total", dimensions: [("result", result)]) }
        _ = Counter(label: "agent_heartbeat_notifications_sent_total")
        _ = Counter(label: "agent_heartbeat_notifications_failed_total")
        _ = Counter(label: "agent_heartbeat_notifications_rejected_total")
        _ = Counter(label: "agent_heartbeat_redis_reconnects_total")
        Gauge(label: "agent_heartbeat_degraded").record(0)
    }
}
