/// How an agent's heartbeats are judged beyond its offline threshold: when it is late, when its
/// reports make it failing, when restarts make it flapping, and whether it alerts. Agents share
/// one value unless they override a key (`MonitorConfiguration.rules`): 100,000 agents keep an
/// index each, not a copy.
public struct AgentRules: Sendable, Hashable {
    /// Silent longer than this (and not yet offline) is late; nil: judged by the learned cadence.
    public var lateAfter: Duration?
    /// Whether being late alerts (it is always shown).
    public var alertOnLate = false
    /// Consecutive heartbeats with a failing status before the agent is failing.
    public var failingAfterHeartbeats = 1
    /// More restarts than this within `restartWindow` is flapping.
    public var maxRestarts = 3
    public var restartWindow: Duration = .seconds(600)
    /// `alert: false`: the agent never alerts on its own; its groups speak for it.
    public var alerts = true
    /// `notify`: the receivers told about the agent; nil: `default_notifiers`.
    public var notify: [String]?
    /// `on_offline`: what the leader does about the agent while it is offline.
    public var onOffline: [RecoveryAction] = []
    /// `metrics`: numeric payload fields exported per agent and kept as series.
    public var metrics: [String] = []

    public init() {}

    /// The series every agent has: seconds between its heartbeats.
    public static let intervalMetric = "heartbeat_interval_seconds"
    /// Declared metrics per agent: each is a series of its own, on every heartbeat.
    public static let maximumMetrics = 8

    /// Restart times a heartbeat record keeps: enough to tell `maxRestarts` exceeded.
    public static let maximumMaxRestarts = 20
}

/// One of agents.yaml's `groups`: agents that matter as a pool.
public struct AgentGroup: Sendable, Hashable, Identifiable {
    public var id: String
    public var name: String
    /// Member ids, resolved from the ids and globs in agents.yaml, in the configuration's order.
    public var members: [String]
    /// Below this many members online, the group alerts.
    public var minOnline: Int
    /// `notify`: the receivers told about the group; nil: `default_notifiers`.
    public var notify: [String]?

    public init(id: String, name: String, members: [String], minOnline: Int) {
        self.id = id
        self.name = name
        self.members = members
        self.minOnline = minOnline
    }
}

/// `*` matches any run of characters, `?` any one; everything else itself. For agent ids.
public func globMatches(_ pattern: String, _ text: String) -> Bool {
    let pattern = Array(pattern.utf8)
    let text = Array(text.utf8)
    var (p, t) = (0, 0)
    var star: (pattern: Int, text: Int)?
    while t < text.count {
        if p < pattern.count, pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t] {
            (p, t) = (p + 1, t + 1)
        } else if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
            star = (p, t)
            p += 1
        } else if let last = star {
            star = (last.pattern, last.text + 1)
            (p, t) = (last.pattern + 1, last.text + 1)
        } else {
            return false
        }
    }
    while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
    return p == pattern.count
}
