/// Decides which notifications are due, from the agents' and groups' states and what was last
/// told. Pure.
///
/// - An agent in trouble (offline, failing, flapping, or late where `alert_on_late`) gets one
///   alert; while the same trouble lasts, one reminder per cooldown. Another trouble (failing,
///   then offline) is alerted at once.
/// - When it is well again after an alert, one recovery message.
/// - `unknown` agents (never seen) never alert, so a fresh deployment is quiet.
/// - An agent flapping around its threshold gets at most one alert per cooldown: a new outage
///   within the cooldown of the last notification waits for the cooldown to end.
/// - Nothing is sent about a silenced agent or group; whatever is still wrong when the silence
///   ends is alerted then.
/// - An agent in trouble while a dependency is down is folded into the dependency's alert
///   (`AgentState.affected`) instead of alerting itself; `alert: false` agents never alert.
/// - A group below its quorum alerts and recovers like an agent.
public struct AlertPolicy: Sendable {
    public var cooldown: Duration

    public init(cooldown: Duration) {
        self.cooldown = cooldown
    }

    /// What is wrong, as alerts name it.
    public enum Trouble: String, Sendable, Equatable {
        case offline, failing, flapping, late
        case belowQuorum = "below_quorum"
    }

    public struct Event: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable {
            case alert, reminder, recovery
        }

        public enum Subject: Sendable, Equatable {
            case agent(AgentState)
            case group(Assessment.GroupState)
        }

        public var kind: Kind
        /// What is wrong; for recoveries, what was.
        public var trouble: Trouble
        public var subject: Subject
        /// For recoveries: the last heartbeat before the outage.
        public var lastSeenBefore: Int64?
        /// The record to store once the notification carrying this event was delivered.
        public var recordAfterDelivery: AlertRecord
        /// What the agent's recovery actions did in this outage ("systemctl: attempt 1 of 3, exit 0").
        public var note: String?

        /// The agent's state, for an agent's event.
        public var state: AgentState? {
            if case .agent(let state) = subject { return state }
            return nil
        }

        /// The field of the alert records it is stored under: the agent's id, or `group:<id>`.
        public var field: String {
            switch subject {
            case .agent(let state): state.agent.id
            case .group(let group): MonitorConfiguration.groupAlertField(group.group.id)
            }
        }
    }

    /// The events due at `now` (ms, Redis clock): the agents' in the order of `states`, then the
    /// groups'. `records` are keyed by `Event.field`.
    public func events(
        states: [AgentState],
        groups: [Assessment.GroupState] = [],
        records: [String: AlertRecord],
        now: Int64
    ) -> [Event] {
        var events: [Event] = []
        for state in states where state.silenced == nil {
            let trouble = state.suppressedBy == nil ? state.trouble : nil
            let healthy = state.trouble == nil && (state.condition == .online || state.condition == .late)
            let record = records[state.agent.id]
            guard let (kind, told) = decide(trouble, healthy: healthy, record: record, now: now) else { continue }
            let lastSeen = kind == .alert ? state.lastHeartbeat : record?.lastSeen
            events.append(
                Event(
                    kind: kind,
                    trouble: told,
                    subject: .agent(state),
                    lastSeenBefore: kind == .recovery ? record?.lastSeen : nil,
                    recordAfterDelivery: recordAfter(kind, told, previous: record, lastSeen: lastSeen, now: now)
                )
            )
        }
        for group in groups where group.silenced == nil {
            let field = MonitorConfiguration.groupAlertField(group.group.id)
            let record = records[field]
            let trouble: Trouble? = group.status == .belowQuorum ? .belowQuorum : nil
            guard let (kind, told) = decide(trouble, healthy: group.status == .ok, record: record, now: now) else {
                continue
            }
            events.append(
                Event(
                    kind: kind,
                    trouble: told,
                    subject: .group(group),
                    recordAfterDelivery: recordAfter(kind, told, previous: record, lastSeen: nil, now: now)
                )
            )
        }
        return events
    }

    /// The record once `kind` about `trouble` is delivered. A recovery keeps when the last alert
    /// went out, so a new outage within the cooldown waits for it.
    private func recordAfter(
        _ kind: Event.Kind,
        _ trouble: Trouble,
        previous: AlertRecord?,
        lastSeen: Int64?,
        now: Int64
    ) -> AlertRecord {
        AlertRecord(
            alerted: kind != .recovery,
            lastNotified: kind == .recovery ? previous?.lastNotified ?? now : now,
            lastSeen: lastSeen,
            trouble: trouble
        )
    }

    /// What to send about one subject: an alert, a reminder, a recovery, or nothing.
    private func decide(
        _ trouble: Trouble?,
        healthy: Bool,
        record: AlertRecord?,
        now: Int64
    ) -> (Event.Kind, Trouble)? {
        let due = record.map { now - $0.lastNotified >= cooldown.wholeMilliseconds } ?? true
        guard let trouble else {
            guard healthy, let record, record.alerted else { return nil }
            return (.recovery, record.trouble)
        }
        guard let record, record.alerted else { return due ? (.alert, trouble) : nil }
        if record.trouble != trouble { return (.alert, trouble) }
        return due ? (.reminder, trouble) : nil
    }
}

extension AgentState {
    /// What alerts about the agent, if anything: nil while well, unknown, late without
    /// `alert_on_late`, or with `alert: false`.
    public var trouble: AlertPolicy.Trouble? {
        guard rules.alerts else { return nil }
        switch condition {
        case .offline: return .offline
        case .failing: return .failing
        case .flapping: return .flapping
        case .late: return rules.alertOnLate ? .late : nil
        case .online, .unknown: return nil
        }
    }
}
