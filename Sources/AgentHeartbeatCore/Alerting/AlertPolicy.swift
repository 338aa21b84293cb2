/// Decides which notifications are due, from the agents' states and what was last told. Pure.
///
/// - An agent that turns offline gets one alert; while it stays offline, one reminder per cooldown.
/// - When it comes back after an alert, one recovery message.
/// - `unknown` agents (never seen) never alert, so a fresh deployment is quiet.
/// - An agent flapping around its threshold gets at most one offline notification per cooldown:
///   a new outage within the cooldown of the last notification waits for the cooldown to end.
public struct AlertPolicy: Sendable {
    public var cooldown: Duration

    public init(cooldown: Duration) {
        self.cooldown = cooldown
    }

    public struct Event: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable {
            case offline, reminder, recovery
        }

        public var kind: Kind
        public var state: AgentState
        /// For recoveries: the last heartbeat before the outage.
        public var lastSeenBefore: Int64?
        /// The record to store once the notification carrying this event was delivered.
        public var recordAfterDelivery: AlertRecord
    }

    /// The events due at `now` (ms, Redis clock), in the order of `states`.
    public func events(states: [AgentState], records: [String: AlertRecord], now: Int64) -> [Event] {
        let cooldownMilliseconds = cooldown.wholeMilliseconds
        var events: [Event] = []
        for state in states {
            let record = records[state.agent.id]
            switch state.status {
            case .offline:
                let due = record.map { now - $0.lastNotified >= cooldownMilliseconds } ?? true
                guard due else { continue }
                let kind: Event.Kind = record?.alerted == true ? .reminder : .offline
                let lastSeen = kind == .reminder ? record?.lastSeen : state.lastHeartbeat
                events.append(
                    Event(
                        kind: kind,
                        state: state,
                        lastSeenBefore: nil,
                        recordAfterDelivery: AlertRecord(alerted: true, lastNotified: now, lastSeen: lastSeen)
                    )
                )
            case .online:
                guard let record, record.alerted else { continue }
                var cleared = record
                cleared.alerted = false
                events.append(
                    Event(kind: .recovery, state: state, lastSeenBefore: record.lastSeen, recordAfterDelivery: cleared)
                )
            case .unknown:
                continue
            }
        }
        return events
    }
}
