/// One message to deliver, and the events it carries (their records are stored once it is delivered).
public struct AlertMessage: Sendable, Equatable {
    /// Telegram-flavoured HTML: only `<b>` and `<code>` tags, everything else escaped.
    public var html: String
    public var events: [AlertPolicy.Event]

    /// Telegram refuses longer messages.
    public static let maximumLength = 4096
    /// Names, ids, reported statuses and messages are shown at most this many Unicode scalars long.
    /// Escaped (at most 5 UTF-16 units per scalar, "&amp;"), with at most `maximumListed` ids of
    /// dependents or members, one block stays under 3,500 characters, so every message fits
    /// Telegram's 4,096 whatever the agents send.
    static let maximumFieldLength = 100
    static let maximumListed = 10

    /// Renders events as few messages as fit: alerts and reminders together, recoveries together,
    /// split only where a message would pass 4,096 characters (Telegram allows a chat about 20
    /// messages a minute, so one per agent would not do for many agents).
    public static func render(_ events: [AlertPolicy.Event], now: Int64) -> [AlertMessage] {
        let down = events.filter { $0.kind != .recovery }
        let up = events.filter { $0.kind == .recovery }
        return pack(down, now: now) { "🔴 <b>\(headline(of: $0))</b>" }
            + pack(up, now: now) { batch in
                let groups = batch.filter { $0.state == nil }.count
                let agents = batch.count - groups
                let parts = [
                    agents == 0 ? nil : agents == 1 ? "Agent recovered" : "\(agents) agents recovered",
                    groups == 0 ? nil : groups == 1 ? "Group recovered" : "\(groups) groups recovered",
                ]
                return "🟢 <b>\(parts.compactMap { $0 }.joined(separator: ", "))</b>"
            }
    }

    /// "Agent offline", "3 agents failing", "Group below quorum", or "4 alerts" when they differ.
    static func headline(of batch: [AlertPolicy.Event]) -> String {
        let troubles = Set(batch.map(\.trouble))
        guard troubles.count == 1, let trouble = troubles.first else { return "\(batch.count) alerts" }
        let words = words(for: trouble)
        if trouble == .belowQuorum { return batch.count == 1 ? "Group \(words)" : "\(batch.count) groups \(words)" }
        return batch.count == 1 ? "Agent \(words)" : "\(batch.count) agents \(words)"
    }

    static func words(for trouble: AlertPolicy.Trouble) -> String {
        trouble == .belowQuorum ? "below quorum" : trouble.rawValue
    }

    private static func pack(
        _ events: [AlertPolicy.Event],
        now: Int64,
        header: ([AlertPolicy.Event]) -> String
    ) -> [AlertMessage] {
        var messages: [AlertMessage] = []
        var batch: [(AlertPolicy.Event, String)] = []
        func flush() {
            guard !batch.isEmpty else { return }
            let text = ([header(batch.map(\.0))] + batch.map(\.1) + ["Time: \(iso8601(milliseconds: now))"])
                .joined(separator: "\n\n")
            messages.append(AlertMessage(html: text, events: batch.map(\.0)))
            batch = []
        }
        // Header and footer take at most ~80 characters; leave room for them.
        let budget = maximumLength - 100
        for event in events {
            let block = self.block(for: event)
            let length = batch.reduce(0) { $0 + $1.1.utf16.count + 2 } + block.utf16.count
            if length > budget { flush() }
            batch.append((event, block))
        }
        flush()
        return messages
    }

    static func block(for event: AlertPolicy.Event) -> String {
        guard let state = event.state else {
            guard case .group(let group) = event.subject else { return "" }
            return groupBlock(group, event: event)
        }
        let agent = state.agent
        let title = "<b>\(shown(agent.name))</b> (<code>\(shown(agent.id))</code>)"
        if event.kind == .recovery {
            var lines = [title, "Status: online"]
            if event.trouble == .offline, let before = event.lastSeenBefore, let now = state.lastHeartbeat {
                lines.append("Was offline for: \(formatDuration(seconds: max(0, now - before) / 1000))")
            } else if event.trouble != .offline {
                lines.append("Was: \(words(for: event.trouble))")
            }
            if let reported = state.reportedStatus { lines.append("Reported status: \(shown(reported))") }
            return lines.joined(separator: "\n")
        }
        let lastHeartbeat =
            state.lastHeartbeat.map { iso8601(milliseconds: $0) }
            ?? state.missingSince.map { "none since monitoring began at \(iso8601(milliseconds: $0))" } ?? "never"
        let silent = formatDuration(seconds: state.secondsSilent ?? 0)
        var lines = [
            event.kind == .reminder ? "\(title): still \(words(for: event.trouble))" : title,
            "Status: \(words(for: event.trouble))",
        ]
        let evaluation = state.evaluation
        switch event.trouble {
        case .offline, .belowQuorum:
            lines += [
                "Last heartbeat: \(lastHeartbeat)",
                "Offline for: \(silent) (threshold \(formatDuration(seconds: agent.offlineThreshold.wholeSeconds)))",
            ]
        case .failing:
            if let payload = state.payload, case .success(let reported) = HeartbeatPayload.parse(payload) {
                if let status = reported.reportedStatus { lines.append("Reported status: \(shown(status))") }
                for key in ["message", "error"] {
                    guard case .string(let text) = reported.metadata[key] else { continue }
                    lines.append("\(key == "message" ? "Message" : "Error"): \(shown(text))")
                    break
                }
            }
            let count = evaluation.failingHeartbeats
            lines.append("Failing for: \(count) heartbeat\(count == 1 ? "" : "s")")
            lines.append("Last heartbeat: \(lastHeartbeat)")
        case .flapping:
            lines.append(
                "Restarts: \(evaluation.restarts) in \(formatDuration(seconds: state.rules.restartWindow.wholeSeconds))"
                    + " (at most \(state.rules.maxRestarts))"
            )
        case .late:
            let expected =
                evaluation.expectedInterval > 0
                ? "expected every \(formatDuration(milliseconds: Int64(evaluation.expectedInterval)))"
                : "late after \(formatDuration(milliseconds: Int64(evaluation.lateAfter)))"
            lines.append("Silent for: \(silent) (\(expected))")
        }
        if !state.affected.isEmpty {
            let count = state.affected.count
            lines.append(
                "\(count) dependent agent\(count == 1 ? "" : "s") affected: "
                    + listed(state.affected.map { "<code>\(shown($0.id))</code>" })
            )
        }
        return lines.joined(separator: "\n")
    }

    /// "Workers: 1 of 3 online, needs 2", with the members that are not.
    static func groupBlock(_ group: Assessment.GroupState, event: AlertPolicy.Event) -> String {
        let title = "<b>\(shown(group.group.name))</b> (<code>\(shown(group.group.id))</code>)"
        let count = "\(group.online) of \(group.total) online, needs \(group.group.minOnline)"
        var lines = [
            event.kind == .reminder ? "\(title): still below quorum" : title,
            "\(event.kind == .recovery ? "Status: ok" : "Status: below quorum"): \(count)",
        ]
        if event.kind != .recovery, !group.notOnline.isEmpty {
            lines.append("Not online: " + listed(group.notOnline.map { "<code>\(shown($0))</code>" }))
        }
        return lines.joined(separator: "\n")
    }

    /// At most `maximumListed` items, then how many more.
    static func listed(_ items: [String]) -> String {
        let shownItems = items.prefix(maximumListed).joined(separator: ", ")
        return items.count > maximumListed ? "\(shownItems) and \(items.count - maximumListed) more" : shownItems
    }
}

/// `text` cut to `maximumFieldLength` scalars (marked with "…") and escaped.
private func shown(_ text: String) -> String {
    let scalars = text.unicodeScalars
    guard scalars.count > AlertMessage.maximumFieldLength else { return escapeHTML(text) }
    var cut = String.UnicodeScalarView()
    cut.append(contentsOf: scalars.prefix(AlertMessage.maximumFieldLength))
    return escapeHTML(String(cut)) + "…"
}

/// `2500` → `2.5s`; `300000` → `5m`: intervals below a minute keep their tenths.
func formatDuration(milliseconds: Int64) -> String {
    guard milliseconds < 60_000, milliseconds % 1000 != 0 else { return formatDuration(seconds: milliseconds / 1000) }
    return "\(milliseconds / 1000).\(milliseconds % 1000 / 100)s"
}

/// Escapes text for Telegram's HTML parse mode, which needs only these three.
public func escapeHTML(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        default: escaped.append(character)
        }
    }
    return escaped
}
