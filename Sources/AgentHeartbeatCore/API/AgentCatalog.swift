/// A check's agents as the API lists them: looked up by id, filtered, paged, counted per state.
/// Made once per check, sharing the check's storage; pure.
public struct AgentCatalog: Sendable {
    public let states: AgentStates
    public let assessment: Assessment
    public let configuration: MonitorConfiguration
    /// Ids of the groups each grouped agent belongs to.
    private let groupsByAgent: [String: [String]]

    public init(states: AgentStates, assessment: Assessment, configuration: MonitorConfiguration) {
        self.states = states
        self.assessment = assessment
        self.configuration = configuration
        var groupsByAgent: [String: [String]] = [:]
        for group in configuration.groups {
            for member in group.members { groupsByAgent[member, default: []].append(group.id) }
        }
        self.groupsByAgent = groupsByAgent
    }

    public var now: Int64 { states.now }

    /// A scan, once per request: a table of every id would cost megabytes at 100,000 agents for
    /// a millisecond saved.
    public func index(of id: String) -> Int? { states.agents.firstIndex { $0.id == id } }

    /// The history's word for the agent at `index`: its condition, or `silenced`.
    public func state(at index: Int) -> AgentHistoryState {
        AgentHistoryState(states.evaluations[index].condition, silenced: assessment.silenced[index] != nil)
    }

    public func summary(at index: Int) -> APIDocument.AgentSummary {
        let agent = states.agents[index]
        let evaluation = states.evaluations[index]
        let silence = assessment.silenced[index]
        let names = states.rules[Int(agent.rulesIndex)].metrics
        return APIDocument.AgentSummary(
            id: agent.id,
            name: agent.name,
            status: evaluation.status.rawValue,
            condition: evaluation.condition.rawValue,
            state: state(at: index).rawValue,
            lastHeartbeat: evaluation.lastHeartbeat.map { iso8601(milliseconds: $0) },
            secondsSinceHeartbeat: evaluation.secondsSinceHeartbeat,
            silencedUntil: silence.map { iso8601(milliseconds: $0.until) },
            silenceReason: silence?.reason,
            suppressedBy: assessment.suppressedBy[index].map { states.agents[$0].id },
            groups: groupsByAgent[agent.id] ?? [],
            metrics: names.isEmpty ? [:] : states.payload(at: index).map { Self.metrics(names, in: $0) } ?? [:]
        )
    }

    /// The numeric top-level fields `names` of a payload (a JSON object); others are left out.
    public static func metrics(_ names: [String], in payload: ArraySlice<UInt8>) -> [String: Double] {
        guard case .object(let fields) = payload.withUnsafeBufferPointer({ try? JSONParser.parse($0) }) else {
            return [:]
        }
        var values: [String: Double] = [:]
        for name in names {
            switch fields[name] {
            case .integer(let value)?: values[name] = Double(value)
            case .number(let value)? where value.isFinite: values[name] = value
            default: continue
            }
        }
        return values
    }

    /// Agents whose status, condition or state is `status`, in `group`, and whose id or name holds
    /// `query` (any case); `limit` of them from `offset`, in the configuration's order.
    public func list(status: String?, group: String?, query: String?, limit: Int, offset: Int) -> APIDocument.AgentList
    {
        let members = group.map { id in Set(configuration.groups.first { $0.id == id }?.members ?? []) }
        let needle = query.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        var counts: [String: Int] = [:]
        for state in AgentHistoryState.allCases { counts[state.rawValue] = 0 }
        var matching: [Int] = []
        for index in states.indices {
            let state = state(at: index)
            counts[state.rawValue, default: 0] += 1
            let agent = states.agents[index]
            if let status {
                let evaluation = states.evaluations[index]
                guard
                    status == state.rawValue || status == evaluation.status.rawValue
                        || status == evaluation.condition.rawValue
                else { continue }
            }
            if let members, !members.contains(agent.id) { continue }
            if let needle, !agent.id.contains(needle), !agent.name.lowercased().contains(needle) { continue }
            matching.append(index)
        }
        let page = matching.dropFirst(offset).prefix(limit)
        return APIDocument.AgentList(
            now: iso8601(milliseconds: now),
            total: matching.count,
            counts: counts,
            agents: page.map(summary(at:))
        )
    }

    public var groups: [APIDocument.Group] {
        assessment.groups.map { state in
            APIDocument.Group(
                id: state.group.id,
                name: state.group.name,
                members: state.group.members,
                minOnline: state.group.minOnline,
                online: state.online,
                status: state.status.rawValue,
                notOnline: state.notOnline,
                silencedUntil: state.silenced.map { iso8601(milliseconds: $0.until) }
            )
        }
    }
}
