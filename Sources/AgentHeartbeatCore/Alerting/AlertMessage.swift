/// One message to deliver, and the events it carries (their records are stored once it is delivered).
public struct AlertMessage: Sendable, Equatable {
    /// Telegram-flavoured HTML: only `<b>` and `<code>` tags, everything else escaped.
    public var html: String
    public var events: [AlertPolicy.Event]

    /// Telegram refuses longer messages.
    public static let maximumLength = 4096
    /// Names are shown at most this long, so one agent always fits in a message.
    static let maximumNameLength = 200

    /// Renders events as few messages as fit: offline alerts and reminders together, recoveries
    /// together, split only where a message would pass 4,096 characters (Telegram allows a chat
    /// about 20 messages a minute, so one per agent would not do for many agents).
    public static func render(_ events: [AlertPolicy.Event], now: Int64) -> [AlertMessage] {
        let down = events.filter { $0.kind != .recovery }
        let up = events.filter { $0.kind == .recovery }
        return pack(down, now: now) { count in "🔴 <b>\(count == 1 ? "Agent offline" : "\(count) agents offline")</b>" }
            + pack(up, now: now) { count in "🟢 <b>\(count == 1 ? "Agent recovered" : "\(count) agents recovered")</b>" }
    }

    private static func pack(_ events: [AlertPolicy.Event], now: Int64, header: (Int) -> String) -> [AlertMessage] {
        var messages: [AlertMessage] = []
        var batch: [(AlertPolicy.Event, String)] = []
        func flush() {
            guard !batch.isEmpty else { return }
            let text = ([header(batch.count)] + batch.map(\.1) + ["Time: \(iso8601(milliseconds: now))"]).joined(separator: "\n\n")
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
        let state = event.state
        let agent = state.agent
        var name = agent.name
        if name.count > maximumNameLength { name = String(name.prefix(maximumNameLength)) + "…" }
        let title = "<b>\(escapeHTML(name))</b> (<code>\(escapeHTML(agent.id))</code>)"
        let lastHeartbeat = state.lastHeartbeat.map { iso8601(milliseconds: $0) } ?? "never"
        let silent = formatDuration(seconds: state.secondsSinceHeartbeat ?? 0)
        switch event.kind {
        case .offline, .reminder:
            return [
                event.kind == .reminder ? "\(title): still offline" : title,
                "Status: offline",
                "Last heartbeat: \(lastHeartbeat)",
                "Offline for: \(silent) (threshold \(formatDuration(seconds: agent.offlineThreshold.wholeSeconds)))",
            ].joined(separator: "\n")
        case .recovery:
            var lines = [title, "Status: online"]
            if let before = event.lastSeenBefore, let now = state.lastHeartbeat {
                lines.append("Was offline for: \(formatDuration(seconds: max(0, now - before) / 1000))")
            }
            if let reported = state.reportedStatus { lines.append("Reported status: \(escapeHTML(reported))") }
            return lines.joined(separator: "\n")
        }
    }
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
