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
            if !rules.metrics.isEmpty { lines.append("    metrics: [\(rules.metrics.joined(separator: ", "))]") }
            if let notify = rules.notify { lines.append("    notify: [\(notify.joined(separator: ", "))]") }
            if !rules.onOffline.isEmpty { lines.append("    on_offline:") }
            for action in rules.onOffline {
                switch action.kind {
                case .run(let argv):
                    lines.append("      - run: [\(argv.map { "\"\(escaped($0))\"" }.joined(separator: ", "))]")
                case .webhook(let variable): lines.append("      - webhook_env: \(variable.name)")
                }
                lines += [
                    "        timeout_seconds: \(action.timeout.wholeSeconds)",
                    "        max_attempts: \(action.maxAttempts)",
                    "        backoff_seconds: \(action.backoff.wholeSeconds)",
                ]
            }
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
            if let notify = group.notify { lines.append("    notify: [\(notify.joined(separator: ", "))]") }
        }
        if !notifiers.isEmpty { lines.append("notifiers:") }
        for notifier in notifiers {
            lines += ["  - name: \(notifier.name)", "    type: \(notifier.kind.rawValue)"]
            for (role, variable) in notifier.variables.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                lines.append("    \(role.rawValue)_env: \(variable.name)")
            }
            if notifier.timeout != .seconds(10) {
                lines.append("    timeout_seconds: \(notifier.timeout.wholeSeconds)")
            }
            if notifier.maximumAge != .seconds(86_400) {
                lines.append("    max_age_seconds: \(notifier.maximumAge.wholeSeconds)")
            }
            if let from = notifier.from { lines.append("    from: \(from)") }
            if !notifier.to.isEmpty { lines.append("    to: [\(notifier.to.joined(separator: ", "))]") }
        }
        if let defaults = defaultNotifiers { lines.append("default_notifiers: [\(defaults.joined(separator: ", "))]") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Inside a double-quoted YAML scalar.
    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
