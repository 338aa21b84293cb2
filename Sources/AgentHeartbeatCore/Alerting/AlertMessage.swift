/// One chat or mail message to deliver, and the events it carries.
public struct AlertMessage: Sendable, Equatable {
    /// Marked up in `format`: agent text escaped, cut to the format's field length.
    public var text: String
    public var events: [AlertPolicy.Event]

    /// Telegram refuses longer messages.
    public static let maximumLength = MessageFormat.telegram.maximumLength

    /// Renders events as few messages as fit: alerts and reminders together, recoveries together,
    /// split only where a message would pass the format's maximum length (Telegram allows a chat
    /// about 20 messages a minute, so one per agent would not do for many agents).
    public static func render(
        _ events: [AlertPolicy.Event],
        now: Int64,
        format: MessageFormat = .telegram
    ) -> [AlertMessage] {
        let down = events.filter { $0.kind != .recovery }
        let up = events.filter { $0.kind == .recovery }
        return pack(down, now: now, format: format) { "🔴 " + format.bold(headline(of: $0)) }
            + pack(up, now: now, format: format) { batch in
                let groups = batch.filter { $0.state == nil }.count
                let agents = batch.count - groups
                let parts = [
                    agents == 0 ? nil : agents == 1 ? "Agent recovered" : "\(agents) agents recovered",
                    groups == 0 ? nil : groups == 1 ? "Group recovered" : "\(groups) groups recovered",
                ]
                return "🟢 " + format.bold(parts.compactMap { $0 }.joined(separator: ", "))
            }
    }

    /// An email subject: "Agent offline: Mary (mary)", or the headline and how many are named.
    public static func subject(of events: [AlertPolicy.Event]) -> String {
        guard let first = events.first else { return "agent-heartbeat" }
        let headline =
            first.kind == .recovery
            ? (events.count == 1 ? "Recovered" : "\(events.count) recovered") : headline(of: events)
        let (name, id) =
            switch first.subject {
            case .agent(let state): (state.agent.name, state.agent.id)
            case .group(let group): (group.group.name, group.group.id)
            }
        let more = events.count > 1 ? " and \(events.count - 1) more" : ""
        return "\(headline): \(MessageFormat.plain.cut(name)) (\(MessageFormat.plain.cut(id)))\(more)"
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
        format: MessageFormat,
        header: ([AlertPolicy.Event]) -> String
    ) -> [AlertMessage] {
        var messages: [AlertMessage] = []
        var batch: [(AlertPolicy.Event, String)] = []
        func flush() {
            guard !batch.isEmpty else { return }
            let text = ([header(batch.map(\.0))] + batch.map(\.1) + ["Time: \(iso8601(milliseconds: now))"])
                .joined(separator: "\n\n")
            messages.append(AlertMessage(text: text, events: batch.map(\.0)))
            batch = []
        }
        // Header and footer take at most ~80 characters; leave room for them.
        let budget = format.maximumLength - 100
        for event in events {
            let block = self.block(for: event, format: format)
            let length = batch.reduce(0) { $0 + $1.1.utf16.count + 2 } + block.utf16.count
            if length > budget { flush() }
            batch.append((event, block))
        }
        flush()
        return messages
    }

    static func block(for event: AlertPolicy.Event, format: MessageFormat = .telegram) -> String {
        guard let state = event.state else {
            guard case .group(let group) = event.subject else { return "" }
            return groupBlock(group, event: event, format: format)
        }
        let shown = format.text
        let agent = state.agent
        let title = "\(format.bold(agent.name)) (\(format.code(agent.id)))"
        if event.kind == .recovery {
            var lines = [title, "Status: online"]
            if event.trouble == .offline, let before = event.lastSeenBefore, let now = state.lastHeartbeat {
                lines.append("Was offline for: \(formatDuration(seconds: max(0, now - before) / 1000))")
            } else if event.trouble != .offline {
                lines.append("Was: \(words(for: event.trouble))")
            }
            if let reported = state.reportedStatus { lines.append("Reported status: \(shown(reported))") }
            if let note = event.note { lines.append("Recovery action: \(shown(note))") }
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
        if let note = event.note { lines.append("Recovery action: \(shown(note))") }
        if !state.affected.isEmpty {
            let count = state.affected.count
            lines.append(
                "\(count) dependent agent\(count == 1 ? "" : "s") affected: "
                    + listed(state.affected.map { format.code($0.id) }, format: format)
            )
        }
        return lines.joined(separator: "\n")
    }

    /// "Workers: 1 of 3 online, needs 2", with the members that are not.
    static func groupBlock(_ group: Assessment.GroupState, event: AlertPolicy.Event, format: MessageFormat) -> String {
        let title = "\(format.bold(group.group.name)) (\(format.code(group.group.id)))"
        let count = "\(group.online) of \(group.total) online, needs \(group.group.minOnline)"
        var lines = [
            event.kind == .reminder ? "\(title): still below quorum" : title,
            "\(event.kind == .recovery ? "Status: ok" : "Status: below quorum"): \(count)",
        ]
        if event.kind != .recovery, !group.notOnline.isEmpty {
            lines.append("Not online: " + listed(group.notOnline.map(format.code), format: format))
        }
        return lines.joined(separator: "\n")
    }

    /// At most the format's `maximumListed` items, then how many more.
    static func listed(_ items: [String], format: MessageFormat) -> String {
        let limit = format.maximumListed
        let shownItems = items.prefix(limit).joined(separator: ", ")
        return items.count > limit ? "\(shownItems) and \(items.count - limit) more" : shownItems
    }
}

/// `2500` → `2.5s`; `300000` → `5m`: intervals below a minute keep their tenths.
func formatDuration(milliseconds: Int64) -> String {
    guard milliseconds < 60_000, milliseconds % 1000 != 0 else { return formatDuration(seconds: milliseconds / 1000) }
    return "\(milliseconds / 1000).\(milliseconds % 1000 / 100)s"
}
