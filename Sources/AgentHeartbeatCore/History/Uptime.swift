/// Time up, down and silenced within a window, from an agent's state changes. Times in ms.
/// Monitored time is up plus down: time unknown (before the first heartbeat, or data lost) and
/// silenced time count in neither, so a planned silence does not lower uptime; silenced is told
/// apart.
public struct Uptime: Sendable, Equatable {
    public var window: Int64
    public var up: Int64 = 0
    public var down: Int64 = 0
    public var silenced: Int64 = 0
    public var unknown: Int64 = 0

    public var monitored: Int64 { up + down }
    /// Up ÷ monitored; nil when nothing was monitored.
    public var ratio: Double? { monitored == 0 ? nil : Double(up) / Double(monitored) }

    /// The windows the API and the dashboard show: 24 hours, 7 days, 30 days.
    public static let windows: [(name: String, milliseconds: Int64)] = [
        ("24h", 86_400_000), ("7d", 7 * 86_400_000), ("30d", 30 * 86_400_000),
    ]

    /// Uptime over `window` ms up to `now`. `changes` in time order must include the last change
    /// before the window, if there is one; before the first change nothing was monitored.
    public init(changes: [StateChange], window: Int64, now: Int64) {
        self.window = window
        let start = now - window
        var state: AgentHistoryState?
        var from = start
        for change in changes {
            // Clamped into the window, and never back in time: the parts always add up to it.
            let at = max(min(max(change.at, start), now), from)
            add(state, at - from)
            state = change.to
            from = at
        }
        add(state, now - from)
    }

    private mutating func add(_ state: AgentHistoryState?, _ span: Int64) {
        guard span > 0 else { return }
        switch state {
        case nil, .unknown?: unknown += span
        case .silenced?: silenced += span
        case let state? where state.isUp: up += span
        default: down += span
        }
    }
}
