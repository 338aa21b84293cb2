/// One entry of an agent's history: at `at` it left `from` (nil: monitoring began) and entered
/// `to`, for `reason`. Kept in the agent's Redis stream, whose entry id is `at`.
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

    /// Stream field names.
    public enum Field {
        public static let from = "from"
        public static let to = "to"
        public static let reason = "reason"
        /// When the check that wrote it read the Redis clock: an older check's view never follows.
        public static let seen = "seen"
    }

    /// Reads a stream entry (`<ms>-<seq>` and its fields); nil when it is not one of ours.
    public init?(id: String, fields: [String: String]) {
        guard let ms = id.split(separator: "-").first.flatMap({ Int64($0) }),
            let to = fields[Field.to].flatMap(AgentHistoryState.init(rawValue:))
        else { return nil }
        self.init(
            at: ms,
            from: fields[Field.from].flatMap(AgentHistoryState.init(rawValue:)),
            to: to,
            reason: fields[Field.reason] ?? ""
        )
    }
}
