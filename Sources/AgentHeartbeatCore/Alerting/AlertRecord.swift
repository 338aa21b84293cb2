/// What was last told about one agent or group, kept in Redis (hash `{prefix}:alerts`, field = agent
/// id or `group:<id>`) so that a new leader continues where the old one stopped. Written only
/// after a delivery.
public struct AlertRecord: Sendable, Equatable {
    /// An alert was delivered for the current trouble (a recovery clears it).
    public var alerted: Bool
    /// When the last alert or reminder was delivered (ms, Redis clock).
    public var lastNotified: Int64
    /// The agent's last heartbeat when it was alerted, to tell how long the outage lasted.
    public var lastSeen: Int64?
    /// What was alerted.
    public var trouble: AlertPolicy.Trouble

    public init(alerted: Bool, lastNotified: Int64, lastSeen: Int64?, trouble: AlertPolicy.Trouble = .offline) {
        self.alerted = alerted
        self.lastNotified = lastNotified
        self.lastSeen = lastSeen
        self.trouble = trouble
    }

    /// `alerted|last_notified_ms|last_seen_ms[|trouble]`: one field per agent, read with one HMGET per
    /// chunk. An offline record keeps the three parts of older versions, which read only those: a
    /// replica not yet upgraded still knows the outage and sends no second alert. Records without a
    /// trouble are offline ones.
    public var encoded: String {
        let parts = "\(alerted ? 1 : 0)|\(lastNotified)|\(lastSeen.map(String.init) ?? "")"
        return trouble == .offline ? parts : "\(parts)|\(trouble.rawValue)"
    }

    public init?(encoded text: String) {
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 4, let notified = Int64(parts[1]) else { return nil }
        let trouble = parts.count == 4 ? AlertPolicy.Trouble(rawValue: String(parts[3])) ?? .offline : .offline
        self.init(alerted: parts[0] == "1", lastNotified: notified, lastSeen: Int64(parts[2]), trouble: trouble)
    }
}
