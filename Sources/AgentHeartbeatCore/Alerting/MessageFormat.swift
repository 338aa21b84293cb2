/// How a chat or mail receiver marks text up, and how much it takes. Every piece of agent text goes
/// through `text`, `bold` or `code`: cut to `fieldLength` Unicode scalars (marked "…") and escaped,
/// so that nothing an agent sends can format, link or mention.
public enum MessageFormat: String, Sendable, CaseIterable {
    /// Telegram's HTML parse mode: `<b>`, `<code>`; `&`, `<`, `>` escaped.
    case telegram
    /// Slack mrkdwn: `*bold*`, `` `code` ``; `&`, `<`, `>` escaped (no links, no mentions).
    case slack
    /// Discord markdown: every metacharacter escaped with a backslash; mentions are turned off
    /// by the sender (`allowed_mentions`).
    case discord
    /// Plain text (email bodies, PagerDuty summaries): nothing to escape.
    case plain

    /// The longest message the service takes, in UTF-16 units (what Telegram and Discord count).
    public var maximumLength: Int {
        switch self {
        case .telegram: 4096
        case .slack: 3900  // Slack shows up to 4,000 characters of text before "Show more"
        case .discord: 2000
        case .plain: 100_000
        }
    }

    /// Agent text is cut to this many Unicode scalars. With escaping (at most 5 units per scalar in
    /// HTML and mrkdwn, 2 in Discord) and at most `maximumListed` ids per list, one block stays
    /// well under `maximumLength` minus a header and a footer, whatever the agents send.
    public var fieldLength: Int {
        switch self {
        case .telegram, .slack: 100
        case .discord: 60
        case .plain: 200
        }
    }

    public var maximumListed: Int { self == .discord ? 5 : 10 }

    /// `raw` cut and escaped.
    public func text(_ raw: String) -> String { escape(cut(raw)) }

    public func bold(_ raw: String) -> String {
        switch self {
        case .telegram: "<b>\(text(raw))</b>"
        case .slack: "*\(text(raw))*"
        case .discord: "**\(text(raw))**"
        case .plain: text(raw)
        }
    }

    /// For ids: monospaced where the format has it.
    public func code(_ raw: String) -> String {
        switch self {
        case .telegram: "<code>\(text(raw))</code>"
        // Inside backticks Discord shows backslashes as they are: only a backtick could end the span.
        case .slack: "`\(text(raw).replacingBackticks())`"
        case .discord: "`\(cut(raw).replacingBackticks())`"
        case .plain: text(raw)
        }
    }

    func cut(_ raw: String) -> String {
        let scalars = raw.unicodeScalars
        guard scalars.count > fieldLength else { return raw }
        var cut = String.UnicodeScalarView()
        cut.append(contentsOf: scalars.prefix(fieldLength))
        return String(cut) + "…"
    }

    public func escape(_ text: String) -> String {
        switch self {
        case .telegram, .slack: escapeHTML(text)
        case .discord: escapeDiscord(text)
        case .plain: text
        }
    }
}

/// Escapes text for Telegram's HTML parse mode (and Slack's mrkdwn), which need only these three.
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

/// A backslash before each of Discord's markdown characters (emphasis, code, spoilers, quotes,
/// headings, lists, links, masked links, mentions, emoji): shown as written, never formatting.
public func escapeDiscord(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        if "\\*_~`|>#-[]()<@:!.+=".unicodeScalars.contains(scalar) { escaped.unicodeScalars.append("\\") }
        escaped.unicodeScalars.append(scalar)
    }
    return escaped
}

extension String {
    fileprivate func replacingBackticks() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "`" ? "ˋ" : $0 }))
    }
}
