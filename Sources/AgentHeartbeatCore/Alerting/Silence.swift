/// A silence: while it lasts, nothing is sent about the agents it covers (their true state is still
/// shown). Made with `agent-heartbeat silence add`, kept in Redis (hash `{key_prefix}:silences`,
/// field = id) and shared by every replica; maintenance windows from agents.yaml become silences too.
public struct Silence: Sendable, Hashable {
    public var id: String
    /// An agent id, a group id, or a glob (`*` is every agent).
    public var target: String
    /// When it ends, ms since 1970 on the Redis clock.
    public var until: Int64
    public var reason: String
    public var createdAt: Int64

    public init(id: String, target: String, until: Int64, reason: String, createdAt: Int64) {
        self.id = id
        self.target = target
        self.until = until
        self.reason = reason
        self.createdAt = createdAt
    }

    /// `{"created_ms":…,"id":"…","reason":"…","target":"…","until_ms":…}` as stored in Redis.
    public var encoded: [UInt8] {
        var output = JSONOutput(capacity: 128, pretty: false)
        output.append("{")
        output.key("created_ms", indent: 0)
        output.integer(createdAt)
        output.append(",")
        output.stringMember("id", id, indent: 0)
        output.stringMember("reason", reason, indent: 0)
        output.stringMember("target", target, indent: 0)
        output.key("until_ms", indent: 0)
        output.integer(until)
        output.append("}")
        return Array(output.bytes)
    }

    /// The latest end a stored silence may have: the last instant an ISO 8601 year of four digits
    /// can name (a later one, written by something else, would make the map invalid).
    public static let latestEnd: Int64 = 253_402_300_799_999

    /// Reads a stored silence; nil when it is not one (written by something else). An end past
    /// `latestEnd` is read as `latestEnd`.
    public init?(stored bytes: [UInt8]) {
        guard case .object(let fields) = bytes.withUnsafeBufferPointer({ try? JSONParser.parse($0) }),
            case .string(let id) = fields["id"], case .string(let target) = fields["target"],
            let until = fields["until_ms"]?.wholeNumber
        else { return nil }
        var reason = ""
        if case .string(let text) = fields["reason"] { reason = text }
        self.init(
            id: id,
            target: target,
            until: min(until, Self.latestEnd),
            reason: reason,
            createdAt: fields["created_ms"]?.wholeNumber ?? 0
        )
    }
}

extension JSONValue {
    /// The value as a whole number, when it is one.
    public var wholeNumber: Int64? {
        switch self {
        case .integer(let value): value
        case .number(let value): Int64(exactly: value)
        default: nil
        }
    }
}

extension MonitorConfiguration {
    /// Whether a silence's target names something: an agent id, a group id, or a glob that
    /// matches at least one agent (`*` matches all).
    public func knows(target: String) -> Bool {
        groups.contains { $0.id == target } || agents.contains { globMatches(target, $0.id) }
    }
}

/// `90s`, `30m`, `2h`, `1d`, `1h30m`: a positive duration as people write it; nil otherwise.
public func parseDuration(_ text: String) -> Duration? {
    var total: Int64 = 0
    var number: Int64?
    for character in text {
        if let digit = character.wholeNumberValue, character.isASCII {
            let (value, overflow) = (number ?? 0).multipliedReportingOverflow(by: 10)
            guard !overflow, value <= Int64.max / 86_400 / 1000 else { return nil }
            number = value + Int64(digit)
            continue
        }
        let unit: Int64
        switch character {
        case "s": unit = 1
        case "m": unit = 60
        case "h": unit = 3600
        case "d": unit = 86_400
        default: return nil
        }
        guard let amount = number else { return nil }
        total += amount * unit
        number = nil
    }
    guard number == nil, total > 0 else { return nil }
    return .seconds(total)
}
