/// What a check concludes across agents, from every agent's state: who is silenced (till when,
/// why), whose trouble a dependency causes, and how each group stands. Pure; made once per check.
public struct Assessment: Sendable, Equatable {
    public struct Silencing: Sendable, Equatable {
        /// When the silence ends (ms, Redis clock).
        public var until: Int64
        public var reason: String

        public init(until: Int64, reason: String) {
            self.until = until
            self.reason = reason
        }
    }

    public struct GroupState: Sendable, Equatable {
        public enum Status: String, Sendable {
            case ok, unknown
            case belowQuorum = "below_quorum"
        }

        public var group: AgentGroup
        /// Members online (late ones count; failing and flapping ones do not).
        public var online: Int
        public var status: Status
        public var silenced: Silencing?
        /// Ids of the members not online, in the group's order.
        public var notOnline: [String] = []
        public var total: Int { group.members.count }

        public init(
            group: AgentGroup,
            online: Int,
            status: Status,
            silenced: Silencing? = nil,
            notOnline: [String] = []
        ) {
            self.group = group
            self.online = online
            self.status = status
            self.silenced = silenced
            self.notOnline = notOnline
        }
    }

    /// Agent index → the silence covering it (the one that ends last).
    public var silenced: [Int: Silencing] = [:]
    /// Agent index (a dependent in trouble) → index of the dependency that causes it.
    public var suppressedBy: [Int: Int] = [:]
    public var groups: [GroupState] = []
    /// The silences in force: from Redis and from maintenance windows.
    public private(set) var silences: [Silence] = []

    public init() {}

    /// Who is silenced at `now` (ms) by the silences kept in Redis (expired ones are ignored) and the
    /// configuration's maintenance windows: known before any agent is read. `assess` does the rest.
    public init(plan: Plan, agents: [MonitorConfiguration.Agent], silences: [Silence], now: Int64) {
        var active = silences.filter { $0.until > now }
        for window in plan.maintenance {
            guard let until = window.activeUntil(at: now) else { continue }
            for target in window.targets {
                active.append(Silence(id: "", target: target, until: until, reason: window.reason, createdAt: now))
            }
        }
        for silence in active {
            let silencing = Silencing(until: silence.until, reason: silence.reason)
            for index in plan.indices(of: silence.target, in: agents)
            where (silenced[index]?.until ?? .min) < silence.until {
                silenced[index] = silencing
            }
        }
        self.silences = active
    }

    /// Finds whose trouble a dependency causes, and how each group stands, in `states` (read with
    /// `plan`'s configuration).
    public mutating func assess(_ states: AgentStates, plan: Plan) {
        suppressedBy = [:]
        groups = []
        for (dependent, _) in plan.dependencies where Self.isTroubled(states.evaluations[dependent].condition) {
            if let root = plan.rootCause(of: dependent, in: states) { suppressedBy[dependent] = root }
        }
        for (number, group) in plan.groups.enumerated() {
            var online = 0
            var unknown = 0
            var notOnline: [String] = []
            for member in plan.groupMembers[number] {
                switch states.evaluations[member].condition {
                case .online, .late: online += 1
                case .unknown: unknown += 1
                case .failing, .flapping, .offline: notOnline.append(states.agents[member].id)
                }
            }
            let status: GroupState.Status =
                online >= group.minOnline ? .ok : online + unknown >= group.minOnline ? .unknown : .belowQuorum
            let silence = silences.filter { globMatches($0.target, group.id) }.max { $0.until < $1.until }
            groups.append(
                GroupState(
                    group: group,
                    online: online,
                    status: status,
                    silenced: silence.map { Silencing(until: $0.until, reason: $0.reason) },
                    notOnline: notOnline
                )
            )
        }
    }

    /// Assesses `states` at their `now` in one go (tests, and `check --once`).
    public init(_ states: AgentStates, plan: Plan, silences: [Silence]) {
        self.init(plan: plan, agents: states.agents, silences: silences, now: states.now)
        assess(states, plan: plan)
    }

    /// The agents notifications may be about, with what this assessment says of each: those neither
    /// online nor unknown, and those with an alert record (a recovery may be due). A dependency
    /// that is down lists the dependents it suppresses (`affected`). Not an agent alerted late
    /// whose lateness is `uncertain` (`ListeningGaps.discounting` called it on time): whether it
    /// recovered cannot be told yet. (Uncertain otherwise, it is unknown, or back from worse.)
    public func subjects(
        of states: AgentStates,
        alertRecords: [String: AlertRecord],
        uncertain: Set<Int> = []
    ) -> [AgentState] {
        var subjects: [AgentState] = []
        var position: [Int: Int] = [:]
        for index in states.indices {
            if !uncertain.isEmpty, uncertain.contains(index),
                alertRecords[states.agents[index].id]?.trouble == .late
            {
                continue
            }
            let condition = states.evaluations[index].condition
            guard
                (condition != .online && condition != .unknown)
                    || (!alertRecords.isEmpty && alertRecords[states.agents[index].id] != nil)
            else { continue }
            var state = states[index]
            if !silenced.isEmpty { state.silenced = silenced[index] }
            if let root = suppressedBy[index] { state.suppressedBy = states.agents[root].id }
            position[index] = subjects.count
            subjects.append(state)
        }
        for (dependent, root) in suppressedBy.sorted(by: { $0.key < $1.key }) {
            guard let at = position[root] else { continue }
            subjects[at].affected.append(states.agents[dependent])
        }
        return subjects
    }

    /// Whether a dependent in this condition is suppressed while a dependency is down.
    static func isTroubled(_ condition: AgentCondition) -> Bool { condition != .online }

    /// Whether a dependency in this condition causes its dependents' trouble.
    static func isDown(_ condition: AgentCondition) -> Bool { condition == .offline || condition == .failing }

    /// What depends only on the configuration, prepared once per configuration: dependencies and
    /// group members as indices. Only the ids they name are indexed: a table of every id would
    /// cost megabytes at 100,000 agents, and silences, being few, are matched by a scan.
    public struct Plan: Sendable, Equatable {
        /// Dependent → its dependencies.
        let dependencies: [Int: [Int]]
        let groups: [AgentGroup]
        let groupMembers: [[Int]]
        let maintenance: [MaintenanceWindow]
        /// Whether a dependency alerts on its own (one with `alert: false` suppresses nobody).
        let alerts: [Int: Bool]

        public init(_ configuration: MonitorConfiguration) {
            let agents = configuration.agents
            var named = Set(configuration.groups.flatMap(\.members))
            for (id, ids) in configuration.dependencies {
                named.insert(id)
                named.formUnion(ids)
            }
            var indexOfID: [String: Int] = [:]
            if !named.isEmpty {
                for (index, agent) in agents.enumerated() where named.contains(agent.id) { indexOfID[agent.id] = index }
            }
            var dependencies: [Int: [Int]] = [:]
            var alerts: [Int: Bool] = [:]
            for (id, ids) in configuration.dependencies {
                let needed = ids.compactMap { indexOfID[$0] }
                for index in needed { alerts[index] = configuration.rules(of: agents[index]).alerts }
                if let dependent = indexOfID[id] { dependencies[dependent] = needed }
            }
            self.dependencies = dependencies
            self.alerts = alerts
            groups = configuration.groups
            groupMembers = configuration.groups.map { $0.members.compactMap { indexOfID[$0] } }
            maintenance = configuration.maintenance
        }

        public var hasDependencies: Bool { !dependencies.isEmpty }

        /// Agents a silence's target covers: an id, a group, or a glob.
        func indices(of target: String, in agents: [MonitorConfiguration.Agent]) -> [Int] {
            if target == "*" { return Array(agents.indices) }
            if let number = groups.firstIndex(where: { $0.id == target }) { return groupMembers[number] }
            guard target.contains("*") || target.contains("?") else {
                return agents.firstIndex { $0.id == target }.map { [$0] } ?? []
            }
            return agents.indices.filter { globMatches(target, agents[$0].id) }
        }

        /// The deepest dependency of `index` that is down and alerts, following down dependencies
        /// (the gateway behind the proxy behind the worker); nil when none is down.
        func rootCause(of index: Int, in states: AgentStates) -> Int? {
            var root: Int?
            var current = index
            var seen: Set<Int> = [index]
            while let next = dependencies[current]?.first(where: {
                Assessment.isDown(states.evaluations[$0].condition) && alerts[$0] != false && !seen.contains($0)
            }) {
                root = next
                seen.insert(next)
                current = next
            }
            return root
        }
    }
}
