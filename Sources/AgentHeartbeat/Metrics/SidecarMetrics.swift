import Metrics

/// Metric names in one place; `declare()` creates the unlabelled series at zero so dashboards
/// and alerts see them before the first event.
public enum SidecarMetrics {
    public static func declare() {
        for result in ["ok", "failed"] { _ = Counter(label: "agent_heartbeat_config_reloads_total", dimensions: [("result", result)]) }
        _ = Counter(label: "agent_heartbeat_notifications_sent_total")
        _ = Counter(label: "agent_heartbeat_notifications_failed_total")
        _ = Counter(label: "agent_heartbeat_redis_reconnects_total")
    }
}
