/// One message to deliver, and the events it carries (their records are stored once it is delivered).
public struct AlertMessage: Sendable, Equatable {
    /// Telegram-flavoured HTML: only `<b>` and `<code>` tags, everything else escaped.
    public var html: String
    public var events: [AlertPolicy.Event]

    /// Telegram refuses longer messages.
    public static let maximumLength = 4096
    /// Names, ids and reported statuses are shown at most this many Unicode scalars long. Escaped
    /// (at most 5 UTF-16 units per scalar, "&amp;"), one agent's block stays under 1,700
    /// characters, so every message fits Telegram's 4,096 whatever the agents send.
    static let maximumFieldLength = 100

    /// Renders events as few messages as fit: offline alerts and reminders together, recoveries
    /// together, split only where a message would pass 4,096 characters (Telegram allows a chat
    /// about 20 messages a minute, so one per agent would not do for many agents).
    public static func render(_ events: [AlertPolicy.Event], now: Int64) -> [AlertMessage] {
        let down = events.filter { $0.kind != .recovery }
        let up = events.filter { $0.kind == .recovery }
        let offline = pack(down, now: now) { count in
            "🔴 <b>\(count == 1 ? "Agent offline" : "\(count) agents offline")</b>"
        }
        let recovered = pack(up, now: now) { count in
            "🟢 <b>\(count == 1 ? "Agent recovered" : "\(count) agents recovered")</b>"
        }
        return offline + recovered
    }

    private static func pack(_ events: [AlertPolicy.Event], now: Int64, header: (Int) -> String) -> [AlertMessage] {
        var messages: [AlertMessage] = []
        var batch: [(AlertPolicy.Event, String)] = []
        func flush() {
            guard !batch.isEmpty else { return }
            let text = ([header(batch.count)] + batch.map(\.1) + ["Time: \(iso8601(milliseconds: now))"]).joined(
                separator: "\n\n"
            )
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
        let title = "<b>\(shown(agent.name))</b> (<code>\(shown(agent.id))</code>)"
        let lastHeartbeat =
            state.lastHeartbeat.map { iso8601(milliseconds: $0) }
            ?? state.missingSince.map { "none since monitoring began at \(iso8601(milliseconds: $0))" } ?? "never"
        let silent = formatDuration(seconds: state.secondsSilent ?? 0)
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
            if let reported = state.reportedStatus { lines.append("Reported status: \(shown(reported))") }
            return lines.joined(separator: "\n")
        }
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
