/// Writes the status map's bytes, keys sorted so that two replicas' maps diff cleanly;
/// pretty-printed up to `prettyLimit` agents, compact above (half the bytes to render and write).
///
/// Streamed in chunks and built from the stored payload bytes, never a value tree: at 100,000
/// agents a tree and Foundation's encoder took seconds and hundreds of megabytes.
public struct StatusMapRenderer: Sendable {
    public var states: AgentStates
    /// The Redis server's clock at the check, milliseconds since 1970.
    public var now: Int64 { states.now }
    public var alertRecords: [String: AlertRecord]
    /// Indices into `states` in the order of agent ids (see `keyOrder`).
    public var order: [Int]
    /// Why heartbeats may be missing from what was read (the mirror cannot store them): the map
    /// says so in a top-level `degraded` member, and no notification is derived from it.
    public var degraded: String?
    /// Silences, suppression and groups (see `Assessment`).
    public var assessment: Assessment

    public static let prettyLimit = 1000

    public init(
        states: AgentStates,
        alertRecords: [String: AlertRecord] = [:],
        assessment: Assessment = Assessment(),
        order: [Int]? = nil
    ) {
        self.states = states
        self.alertRecords = alertRecords
        self.assessment = assessment
        self.order = order ?? Self.keyOrder(of: states.agents)
    }

    public init(
        states: [AgentState],
        now: Int64,
        alertRecords: [String: AlertRecord] = [:],
        assessment: Assessment = Assessment()
    ) {
        self.init(states: AgentStates(states, now: now), alertRecords: alertRecords, assessment: assessment)
    }

    /// The map lists agents by id. It depends only on the configuration, so the checker sorts
    /// once per configuration (2 ms for 100,000 agents) rather than once per check.
    public static func keyOrder(of agents: [MonitorConfiguration.Agent]) -> [Int] {
        agents.indices.sorted { agents[$0].id < agents[$1].id }
    }

    public var summary: StatusMap.Summary { StatusMap.Summary(states: states, assessment: assessment) }

    /// Renders the map, handing `write` a chunk whenever about `chunkSize` bytes are ready.
    public func render(chunkSize: Int = 1 << 16, to write: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var stream = StatusMapStream(agentCount: states.count, chunkSize: chunkSize)
        try stream.entries(of: states, at: order[...], assessment: assessment, to: write)
        try stream.end(
            states: states,
            alertRecords: alertRecords,
            assessment: assessment,
            degraded: degraded,
            to: write
        )
    }

    /// The whole map in memory (tests, and `check --once`).
    public func render() -> [UInt8] {
        var all: [UInt8] = []
        render(chunkSize: .max) { all = Array($0) }
        return all
    }
}

/// A status map written piece by piece: the entries of the agents as they are read, in the order
/// of their ids, then the rest. The checker renders each chunk of agents while Redis answers the
/// next (`HeartbeatChecker.check(writingMapTo:…)`); `StatusMapRenderer` renders a whole map.
public struct StatusMapStream: ~Copyable {
    private var output: JSONOutput
    private var members: [JSONScanner.Member] = []  // reused: no allocation per agent
    private let chunkSize: Int
    private var entryCount = 0

    /// Starts a map of `agentCount` agents, handing out a chunk whenever about `chunkSize` bytes are ready.
    public init(agentCount: Int, chunkSize: Int = 1 << 16) {
        output = JSONOutput(
            capacity: min(chunkSize, 1 << 16) + 4096,
            pretty: agentCount <= StatusMapRenderer.prettyLimit
        )
        self.chunkSize = chunkSize
        output.append("{")
        output.key("agents", indent: 1)
        output.append("{")
    }

    /// The entries of the agents at `indices` in `states`; over all calls, every agent once, in the
    /// order of their ids (`StatusMapRenderer.keyOrder`).
    /// `assessment` tells who is silenced and suppressed.
    public mutating func entries(
        of states: AgentStates,
        at indices: ArraySlice<Int>,
        assessment: Assessment,
        to write: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        let annotated = !assessment.silenced.isEmpty || !assessment.suppressedBy.isEmpty
        try states.withPayloads { payload in
            for index in indices {
                if entryCount > 0 { output.append(",") }
                entryCount += 1
                let notes =
                    annotated
                    ? Notes(silenced: assessment.silenced[index], suppressedBy: assessment.suppressedBy[index])
                    : Notes()
                Self.entry(index, of: states, payload: payload(index), notes: notes, into: &output, members: &members)
                try flushIfFull(write)
            }
        }
    }

    /// What the assessment says about one agent.
    struct Notes {
        var silenced: Assessment.Silencing?
        var suppressedBy: Int?
    }

    /// The rest of the map: an alert per offline agent, `degraded`, the groups, the summary and the time.
    public consuming func end(
        states: AgentStates,
        alertRecords: [String: AlertRecord],
        assessment: Assessment,
        degraded: String?,
        to write: (UnsafeRawBufferPointer) throws -> Void
    ) rethrows {
        let time = iso8601(milliseconds: states.now)
        if entryCount > 0 { output.newline(indent: 1) }
        output.append("},")
        output.key("alerts", indent: 1)
        output.append("[")
        var alerts = 0
        for index in states.indices where states.evaluations[index].status == .offline {
            if alerts > 0 { output.append(",") }
            alerts += 1
            Self.alert(index, of: states, alertRecords: alertRecords, time: time, into: &output)
            try flushIfFull(write)
        }
        if alerts > 0 { output.newline(indent: 1) }
        output.append("],")
        if let degraded { output.stringMember("degraded", degraded, indent: 1) }
        output.key("groups", indent: 1)
        output.append("{")
        for (position, group) in assessment.groups.enumerated() {
            if position > 0 { output.append(",") }
            Self.group(group, into: &output)
        }
        if !assessment.groups.isEmpty { output.newline(indent: 1) }
        output.append("},")
        let summary = StatusMap.Summary(states: states, assessment: assessment)
        output.key("summary", indent: 1)
        output.append("{")
        let counts: [(StaticString, Int)] = [
            ("failing_agents", summary.failingAgents ?? 0), ("flapping_agents", summary.flappingAgents ?? 0),
            ("late_agents", summary.lateAgents ?? 0), ("offline_agents", summary.offlineAgents),
            ("online_agents", summary.onlineAgents), ("silenced_agents", summary.silencedAgents ?? 0),
            ("suppressed_agents", summary.suppressedAgents ?? 0), ("total_agents", summary.totalAgents),
            ("unknown_agents", summary.unknownAgents),
        ]
        for (position, (key, count)) in counts.enumerated() {
            if position > 0 { output.append(",") }
            output.key(key, indent: 2)
            output.integer(Int64(count))
        }
        output.newline(indent: 1)
        output.append("},")
        output.key("timestamp", indent: 1)
        output.string(time)
        output.newline(indent: 0)
        output.append("}")
        output.append(UInt8(ascii: "\n"))
        try write(output.bytes)
    }

    private mutating func flushIfFull(_ write: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard output.count >= chunkSize else { return }
        try write(output.bytes)
        output.removeAll()
    }

    /// The original format always has `last_heartbeat` and `seconds_since_heartbeat`, null when
    /// unknown; `payload_error`, `reported_at` and `reported_status` appear only when present.
    private static func entry(
        _ index: Int,
        of states: AgentStates,
        payload: UnsafeBufferPointer<UInt8>?,
        notes: Notes,
        into output: inout JSONOutput,
        members: inout [JSONScanner.Member]
    ) {
        let agent = states.agents[index]
        let evaluation = states.evaluations[index]
        output.newline(indent: 2)
        output.string(agent.id)
        output.colon()
        output.append("{")
        output.channelMember(agent)
        output.key("condition", indent: 3)
        switch evaluation.condition {  // written as they are: no String per agent
        case .online: output.append("\"online\",")
        case .late: output.append("\"late\",")
        case .failing: output.append("\"failing\",")
        case .flapping: output.append("\"flapping\",")
        case .offline: output.append("\"offline\",")
        case .unknown: output.append("\"unknown\",")
        }
        if evaluation.expectedInterval > 0 {
            output.key("expected_interval_seconds", indent: 3)
            output.seconds(milliseconds: Int64(evaluation.expectedInterval))
            output.append(",")
        }
        if evaluation.failingHeartbeats > 0 {
            output.key("failing_heartbeats", indent: 3)
            output.integer(Int64(evaluation.failingHeartbeats))
            output.append(",")
        }
        output.stringMember("id", agent.id, indent: 3)
        output.key("last_heartbeat", indent: 3)
        output.time(milliseconds: evaluation.lastHeartbeat)
        output.append(",")
        output.key("metadata", indent: 3)
        guard let payload else {
            output.append("{},")
            output.stringMember("name", agent.name, indent: 3)
            if let error = states.payloadError(at: index) {
                output.stringMember("payload_error", error, indent: 3)
            }
            Self.entryTail(evaluation, notes: notes, agents: states.agents, into: &output)
            return
        }
        let (status, timestamp) = PayloadFields.split(payload, metadata: &members)
        func value(_ member: JSONScanner.Member) {
            output.value(UnsafeBufferPointer(rebasing: payload[member.value]))
        }
        output.append("{")
        for (position, member) in members.enumerated() {
            if position > 0 { output.append(",") }
            output.newline(indent: 4)
            output.append(UInt8(ascii: "\""))
            output.append(UnsafeBufferPointer(rebasing: payload[member.key]))
            output.append(UInt8(ascii: "\""))
            output.colon()
            value(member)
        }
        if !members.isEmpty { output.newline(indent: 3) }
        output.append("},")
        output.stringMember("name", agent.name, indent: 3)
        if let timestamp {
            output.key("reported_at", indent: 3)
            value(timestamp)
            output.append(",")
        }
        if let status {
            output.key("reported_status", indent: 3)
            value(status)
            output.append(",")
        }
        Self.entryTail(evaluation, notes: notes, agents: states.agents, into: &output)
    }

    private static func entryTail(
        _ evaluation: AgentState.Evaluation,
        notes: Notes,
        agents: [MonitorConfiguration.Agent],
        into output: inout JSONOutput
    ) {
        if evaluation.restarts >= 0 {
            output.key("restarts", indent: 3)
            output.integer(Int64(evaluation.restarts))
            output.append(",")
        }
        output.key("seconds_since_heartbeat", indent: 3)
        output.integer(evaluation.secondsSinceHeartbeat)
        output.append(",")
        if let silenced = notes.silenced {
            output.stringMember("silence_reason", silenced.reason, indent: 3)
            output.key("silenced_until", indent: 3)
            output.time(milliseconds: silenced.until)
            output.append(",")
        }
        output.key("status", indent: 3)
        switch evaluation.status {  // written as they are: no String per agent
        case .online: output.append("\"online\"")
        case .offline: output.append("\"offline\"")
        case .unknown: output.append("\"unknown\"")
        }
        if let root = notes.suppressedBy {
            output.append(",")
            output.key("suppressed_by", indent: 3)
            output.string(agents[root].id)
        }
        output.newline(indent: 2)
        output.append("}")
    }

    /// `"<id>" : {"min_online": …, "name": …, "online": …, "status": …, "total": …}`, and the
    /// silence when there is one.
    private static func group(_ state: Assessment.GroupState, into output: inout JSONOutput) {
        output.newline(indent: 2)
        output.string(state.group.id)
        output.colon()
        output.append("{")
        output.key("min_online", indent: 3)
        output.integer(Int64(state.group.minOnline))
        output.append(",")
        output.stringMember("name", state.group.name, indent: 3)
        output.key("online", indent: 3)
        output.integer(Int64(state.online))
        output.append(",")
        if let silenced = state.silenced {
            output.stringMember("silence_reason", silenced.reason, indent: 3)
            output.key("silenced_until", indent: 3)
            output.time(milliseconds: silenced.until)
            output.append(",")
        }
        output.stringMember("status", state.status.rawValue, indent: 3)
        output.key("total", indent: 3)
        output.integer(Int64(state.total))
        output.newline(indent: 2)
        output.append("}")
    }

    private static func alert(
        _ index: Int,
        of states: AgentStates,
        alertRecords: [String: AlertRecord],
        time: String,
        into output: inout JSONOutput
    ) {
        let agent = states.agents[index]
        let evaluation = states.evaluations[index]
        let seconds = evaluation.secondsSilent ?? 0
        let record = alertRecords[agent.id]
        output.newline(indent: 2)
        output.append("{")
        output.stringMember("agent_id", agent.id, indent: 3)
        output.stringMember("agent_name", agent.name, indent: 3)
        output.stringMember("alert_time", time, indent: 3)
        output.key("last_notified", indent: 3)
        output.time(milliseconds: record.flatMap { $0.alerted ? $0.lastNotified : nil })
        output.append(",")
        output.key("message", indent: 3)
        // "Agent <name> (<id>) is offline: no heartbeat for <duration> (threshold <duration>)",
        // written in place: one String per offline agent was most of this function's cost.
        output.append("\"Agent ")
        output.stringContents(agent.name)
        output.append(" (")
        output.stringContents(agent.id)
        output.append(") is offline: no heartbeat for ")
        output.duration(seconds: seconds)
        if evaluation.lastHeartbeat == nil, let since = evaluation.missingSince {
            output.append(" since monitoring began at ")
            output.stringContents(iso8601(milliseconds: since))
        }
        output.append(" (threshold ")
        output.duration(seconds: agent.offlineThreshold.wholeSeconds)
        output.append(")\"")
        output.append(",")
        output.key("seconds_offline", indent: 3)
        output.integer(seconds)
        output.newline(indent: 2)
        output.append("}")
    }
}

/// A payload split the way the map shows it: `status` (when text), `timestamp`, and the other
/// fields as metadata, sorted by key, the last of duplicate keys winning. Keys are compared as
/// written: a key spelled with escapes (`"st\u0061tus"`) counts as a different key.
enum PayloadFields {
    /// Fills `metadata` (emptied first) and returns the `status` and `timestamp` members.
    static func split(
        _ payload: UnsafeBufferPointer<UInt8>,
        metadata: inout [JSONScanner.Member]
    ) -> (status: JSONScanner.Member?, timestamp: JSONScanner.Member?) {
        var status: JSONScanner.Member?
        var timestamp: JSONScanner.Member?
        metadata.removeAll(keepingCapacity: true)
        JSONScanner.forEachMember(ofObject: payload) { member in
            let key = UnsafeBufferPointer(rebasing: payload[member.key])
            if key.equals("status"), payload[member.value.lowerBound] == UInt8(ascii: "\"") {
                status = member
            } else if key.equals("timestamp") {
                timestamp = member
            } else {
                metadata.append(member)
            }
        }
        func precedes(_ first: JSONScanner.Member, _ second: JSONScanner.Member) -> Bool {
            payload[first.key].lexicographicallyPrecedes(payload[second.key])
        }
        // Usually already in order. Swift's sort is stable, so duplicates stay in payload order
        // and the last of each is kept.
        guard zip(metadata, metadata.dropFirst()).contains(where: { !precedes($0, $1) }) else {
            return (status, timestamp)
        }
        metadata.sort(by: precedes)
        var kept = 0
        for index in metadata.indices
        where index + 1 == metadata.count || precedes(metadata[index], metadata[index + 1]) {
            metadata[kept] = metadata[index]
            kept += 1
        }
        metadata.removeLast(metadata.count - kept)
        return (status, timestamp)
    }
}
