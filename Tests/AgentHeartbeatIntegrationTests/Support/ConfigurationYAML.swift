import AgentHeartbeatCore
import Foundation

extension MonitorConfiguration {
    /// agents.yaml text for this configuration, so process tests run the binary on it.
    var yaml: String {
        var lines = [
            "offline_threshold_seconds: \(offlineThreshold.wholeSeconds)",
            "check_interval_seconds: \(checkInterval.wholeSeconds)",
            "alert_cooldown_seconds: \(alertCooldown.wholeSeconds)",
            "key_prefix: \(keyPrefix)",
            "key_ttl_seconds: \(keyTTL.wholeSeconds)",
            "agents:",
        ]
        for agent in agents {
            lines += [
                "  - id: \(agent.id)",
                "    name: \"\(escaped(agent.name))\"",
                "    channel: \"\(escaped(agent.channel))\"",
                "    offline_threshold_seconds: \(agent.offlineThreshold.wholeSeconds)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Inside a double-quoted YAML scalar.
    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
