/// The states an agent's history records (`StateChange`): its condition, or `silenced` while a
/// silence covers it. Uptime counts `online` and `late` as up (as groups count members online),
/// `failing`, `flapping` and `offline` as down; `unknown` and `silenced` time is not monitored.
public enum AgentHistoryState: String, Sendable, Codable, CaseIterable {
    case online, late, failing, flapping, offline, unknown, silenced

    /// The state of an agent whose check concluded `condition`, covered by a silence or not: what
    /// `HistoryObservation` would say, without making its reason.
    public init(_ condition: AgentCondition, silenced: Bool) {
        self = silenced ? .silenced : AgentHistoryState(rawValue: condition.rawValue)!
    }

    public var isUp: Bool { self == .online || self == .late }
    public var isDown: Bool { self == .failing || self == .flapping || self == .offline }
}

/// What one check observed about one agent, for its history: the state, since when it holds as
/// far as the check can tell, and why.
public struct HistoryObservation: Sendable, Equatable {
    public var state: AgentHistoryState
    /// When the state began (ms, Redis clock): an offline agent became offline one threshold after
    /// its last heartbeat, not when a check noticed. Never after the check.
    public var since: Int64
    public var reason: String

    public init(state: AgentHistoryState, since: Int64, reason: String) {
        self.state = state
        self.since = since
        self.reason = reason
    }

    /// What `evaluation` says about an agent with `threshold` (ms), covered by `silence` or not,
    /// at `now` (ms).
    public init(
        _ evaluation: AgentState.Evaluation,
        threshold: Int64,
        failingAfter: Int,
        silence: Assessment.Silencing?,
        now: Int64
    ) {
        let heard = evaluation.lastHeartbeat
        func seconds(_ milliseconds: Int64) -> String { "\(milliseconds / 1000)s" }
        switch (silence, evaluation.condition) {
        case (let silence?, _):
            let reason = silence.reason.isEmpty ? "silenced" : "silenced: \(silence.reason)"
            self.init(state: .silenced, since: now, reason: reason)
        case (nil, .online):
            self.init(state: .online, since: heard ?? now, reason: "heartbeat received")
        case (nil, .late):
            let lateAfter = Int64(evaluation.lateAfter)
            self.init(
                state: .late,
                since: (heard ?? now) + lateAfter,
                reason: "no heartbeat for more than \(seconds(lateAfter)) (its expected cadence)"
            )
        case (nil, .failing):
            let count = max(Int(evaluation.failingHeartbeats), failingAfter)
            let reason =
                count == 1
                ? "its heartbeat reports a failing status" : "\(count) heartbeats in a row report a failing status"
            self.init(state: .failing, since: heard ?? now, reason: reason)
        case (nil, .flapping):
            self.init(
                state: .flapping,
                since: heard ?? now,
                reason: "restarted \(evaluation.restarts) times within its restart window"
            )
        case (nil, .offline):
            if let heard {
                self.init(
                    state: .offline,
                    since: heard + threshold,
                    reason: "no heartbeat for more than \(seconds(threshold)) (its offline threshold)"
                )
            } else {
                self.init(
                    state: .offline,
                    since: (evaluation.missingSince ?? now) + threshold,
                    reason: "no heartbeat on record for more than \(seconds(threshold))"
                )
            }
        case (nil, .unknown):
            self.init(state: .unknown, since: evaluation.missingSince ?? now, reason: "no heartbeat on record")
        }
        since = min(since, now)
    }
}
