/// What was last told about one agent, kept in Redis (hash `<prefix>:alerts`, field = agent id)
/// so that a new leader continues where the old one stopped. Written only after a delivery.
public struct AlertRecord: Sendable, Equatable {
    /// An offline notification was delivered for the agent's current outage (a recovery clears it).
    public var alerted: Bool
    /// When the last offline notification or reminder was delivered (ms, Redis clock).
    public var lastNotified: Int64
    /// The agent's last heartbeat when it was reported offline, to tell how long the outage lasted.
    public var lastSeen: Int64?

    public init(alerted: Bool, lastNotified: Int64, lastSeen: Int64?) {
        self.alerted = alerted
        self.lastNotified = lastNotified
        self.lastSeen = lastSeen
    }

    /// `alerted|last_notified_ms|last_seen_ms`: one field per agent, read with one HMGET per chunk.
    public var encoded: String { "\(alerted ? 1 : 0)|\(lastNotified)|\(lastSeen.map(String.init) ?? "")" }

    public init?(encoded text: String) {
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 3, let notified = Int64(parts[1]) else { return nil }
        self.init(alerted: parts[0] == "1", lastNotified: notified, lastSeen: Int64(parts[2]))
    }
}
