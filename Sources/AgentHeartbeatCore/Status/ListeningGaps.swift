/// When this replica was not receiving heartbeats: before its subscriber first confirmed every
/// channel, and while it was reconnecting. Heartbeats published then were lost (pub/sub keeps
/// nothing), so silence that falls in a gap proves nothing: an agent is only offline when it was
/// silent for longer than its threshold while somebody listened. Without this, a sidecar started
/// after an outage of its own would call every agent offline at once. Pure; times in ms, Redis clock.
public struct ListeningGaps: Sendable, Equatable {
    /// Closed gaps, oldest first; the first may start at `Int64.min` (before the first subscription).
    public var closed: [Range<Int64>]
    /// Since when the current gap lasts, if there is one.
    public var open: Int64?

    public init(closed: [Range<Int64>] = [], open: Int64? = nil) {
        self.closed = closed
        self.open = open
    }

    /// Milliseconds of `start..<end` that fall in a gap.
    public func unheard(from start: Int64, to end: Int64) -> Int64 {
        func overlap(_ lower: Int64, _ upper: Int64) -> Int64 {
            let from = max(lower, start)
            let to = min(upper, end)
            return to > from ? to - from : 0
        }
        var total = open.map { overlap($0, .max) } ?? 0
        for gap in closed { total += overlap(gap.lowerBound, gap.upperBound) }
        return total
    }

    /// Offline agents whose silence, less the time nobody listened, is within their threshold
    /// become unknown: it cannot be told yet whether they are alive. Late agents whose silence so
    /// counted is within their limit are on time. Only the agents at `indices`, or every agent.
    /// Returns the indices of the agents changed: what this replica tells of them is uncertain.
    @discardableResult
    public func discounting(_ states: inout AgentStates, at indices: ArraySlice<Int>? = nil) -> [Int] {
        guard open != nil || !closed.isEmpty else { return [] }
        var changed: [Int] = []
        let now = states.now
        for index in indices ?? Array(states.indices)[...] {
            let evaluation = states.evaluations[index]
            guard evaluation.status == .offline || evaluation.condition == .late,
                let since = evaluation.lastHeartbeat ?? evaluation.missingSince
            else { continue }
            let heard = now - since - unheard(from: since, to: now)
            if evaluation.condition == .late {
                if heard <= Int64(evaluation.lateAfter) {
                    states.evaluations[index].condition = .online
                    changed.append(index)
                }
            } else if heard <= states.agents[index].offlineThresholdMilliseconds {
                states.evaluations[index].status = .unknown
                states.evaluations[index].condition = .unknown
                changed.append(index)
            }
        }
        return changed
    }
}
