/// One entry of an agent's history: at `at` it left `from` (nil: monitoring began) and entered
/// `to`, for `reason`. Kept in the agent's Redis list as `entry`.
public struct StateChange: Sendable, Equatable {
    /// Ms since 1970, Redis clock.
    public var at: Int64
    public var from: AgentHistoryState?
    public var to: AgentHistoryState
    public var reason: String

    public init(at: Int64, from: AgentHistoryState?, to: AgentHistoryState, reason: String) {
        self.at = at
        self.from = from
        self.to = to
        self.reason = reason
    }

    /// Changes kept per agent at most, however recent: a flapping agent's history stays bounded.
    public static let maximumKept = 10_000

    /// `<at>|<seen>|<from>|<to>|<reason>` as the history script writes it, `seen` being the Redis
    /// time of the check that wrote it (an older check's view never follows it) and `from` empty
    /// for the first. The reason comes last: it may hold anything.
    public static func entry(
        at: Int64,
        seen: Int64,
        from: AgentHistoryState?,
        to: AgentHistoryState,
        reason: String
    )
        -> String
    {
        "\(at)|\(seen)|\(from?.rawValue ?? "")|\(to.rawValue)|\(reason)"
    }

    /// Reads an entry; nil when it is not one.
    public init?(entry: String) {
        let parts = entry.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, let at = Int64(parts[0]), Int64(parts[1]) != nil,
            let to = AgentHistoryState(rawValue: String(parts[3]))
        else { return nil }
        let from = AgentHistoryState(rawValue: String(parts[2]))
        guard from != nil || parts[2].isEmpty else { return nil }
        self.init(at: at, from: from, to: to, reason: String(parts[4]))
    }
}
