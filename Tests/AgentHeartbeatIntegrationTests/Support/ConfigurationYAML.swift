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
            let rules = rules(of: agent)
            let defaults = AgentRules()
            if let late = rules.lateAfter { lines.append("    late_after_seconds: \(late.wholeSeconds)") }
            if rules.alertOnLate != defaults.alertOnLate { lines.append("    alert_on_late: \(rules.alertOnLate)") }
            if rules.failingAfterHeartbeats != defaults.failingAfterHeartbeats {
                lines.append("    failing_after_heartbeats: \(rules.failingAfterHeartbeats)")
            }
            if rules.maxRestarts != defaults.maxRestarts { lines.append("    max_restarts: \(rules.maxRestarts)") }
            if rules.restartWindow != defaults.restartWindow {
                lines.append("    restart_window_seconds: \(rules.restartWindow.wholeSeconds)")
            }
            if !rules.alerts { lines.append("    alert: false") }
            if let dependencies = dependencies[agent.id] {
                lines.append("    depends_on: [\(dependencies.joined(separator: ", "))]")
            }
        }
        if failingStatuses != MonitorConfiguration().failingStatuses {
            lines.append(
                "failing_statuses: [\(failingStatuses.sorted().map { "\"\(escaped($0))\"" }.joined(separator: ", "))]"
            )
        }
        if !groups.isEmpty { lines.append("groups:") }
        for group in groups {
            lines += [
                "  - id: \(group.id)",
                "    name: \"\(escaped(group.name))\"",
                "    members: [\(group.members.joined(separator: ", "))]",
                "    min_online: \(group.minOnline)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Inside a double-quoted YAML scalar.
    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
