/// Writes the status map's bytes: pretty-printed, keys sorted, so two replicas' maps diff cleanly.
///
/// Streamed in chunks and built from the stored payload bytes, never a value tree: at 100,000
/// agents a tree and Foundation's encoder took seconds and hundreds of megabytes.
public struct StatusMapRenderer: Sendable {
    public var states: [AgentState]
    /// The Redis server's clock at the check, milliseconds since 1970.
    public var now: Int64
    public var alertRecords: [String: AlertRecord]
    /// Indices into `states` in the order of agent ids (see `keyOrder`).
    public var order: [Int]

    public init(states: [AgentState], now: Int64, alertRecords: [String: AlertRecord] = [:], order: [Int]? = nil) {
        self.states = states
        self.now = now
        self.alertRecords = alertRecords
        self.order = order ?? Self.keyOrder(of: states.map(\.agent))
    }

    /// The map lists agents by id; at 100,000 agents sorting takes tens of milliseconds, so the
    /// service computes it once per configuration.
    public static func keyOrder(of agents: [MonitorConfiguration.Agent]) -> [Int] {
        agents.indices.sorted { agents[$0].id < agents[$1].id }
    }

    public var summary: StatusMap.Summary { StatusMap.Summary(states: states) }

    /// Renders the map, handing `write` a chunk whenever about `chunkSize` bytes are ready.
    public func render(chunkSize: Int = 1 << 16, to write: ([UInt8]) throws -> Void) rethrows {
        var output = JSONOutput()
        output.bytes.reserveCapacity(min(chunkSize, 1 << 16) + 4096)
        let time = iso8601(milliseconds: now)
        output.append("{")
        output.key("agents", indent: 1)
        output.append("{")
        for (position, index) in order.enumerated() {
            if position > 0 { output.append(",") }
            entry(states[index], into: &output)
            if output.bytes.count >= chunkSize {
                try write(output.bytes)
                output.bytes.removeAll(keepingCapacity: true)
            }
        }
        if !order.isEmpty { output.newline(indent: 1) }
        output.append("},")
        output.key("alerts", indent: 1)
        output.append("[")
        var alerts = 0
        for state in states where state.status == .offline {
            if alerts > 0 { output.append(",") }
            alerts += 1
            alert(state, time: time, into: &output)
        }
        if alerts > 0 { output.newline(indent: 1) }
        output.append("],")
        let summary = summary
        output.key("summary", indent: 1)
        output.append("{")
        output.key("offline_agents", indent: 2)
        output.integer(Int64(summary.offlineAgents))
        output.append(",")
        output.key("online_agents", indent: 2)
        output.integer(Int64(summary.onlineAgents))
        output.append(",")
        output.key("total_agents", indent: 2)
        output.integer(Int64(summary.totalAgents))
        output.append(",")
        output.key("unknown_agents", indent: 2)
        output.integer(Int64(summary.unknownAgents))
        output.newline(indent: 1)
        output.append("},")
        output.key("timestamp", indent: 1)
        output.string(time)
        output.newline(indent: 0)
        output.append("}\n")
        try write(output.bytes)
    }

    /// The whole map in memory (tests, and `check --once`).
    public func render() -> [UInt8] {
        var all: [UInt8] = []
        render(chunkSize: .max) { all = $0 }
        return all
    }

    /// The original format always has `last_heartbeat` and `seconds_since_heartbeat`, null when
    /// unknown; `payload_error`, `reported_at` and `reported_status` appear only when present.
    private func entry(_ state: AgentState, into output: inout JSONOutput) {
        let fields = state.payload.map(PayloadFields.init)
        output.newline(indent: 2)
        output.string(state.agent.id)
        output.append(" : {")
        output.key("channel", indent: 3)
        output.string(state.agent.channel)
        output.append(",")
        output.key("id", indent: 3)
        output.string(state.agent.id)
        output.append(",")
        output.key("last_heartbeat", indent: 3)
        output.string(state.lastHeartbeat.map { iso8601(milliseconds: $0) })
        output.append(",")
        output.key("metadata", indent: 3)
        if let fields, !fields.metadata.isEmpty {
            output.append("{")
            for (position, member) in fields.metadata.enumerated() {
                if position > 0 { output.append(",") }
                output.newline(indent: 4)
                output.string(member.key)
                output.append(" : ")
                fields.value(member, indent: 4, into: &output)
            }
            output.newline(indent: 3)
            output.append("},")
        } else {
            output.append("{},")
        }
        output.key("name", indent: 3)
        output.string(state.agent.name)
        output.append(",")
        if let error = state.payloadError {
            output.key("payload_error", indent: 3)
            output.string(error)
            output.append(",")
        }
        if let fields, let timestamp = fields.timestamp {
            output.key("reported_at", indent: 3)
            fields.value(timestamp, indent: 3, into: &output)
            output.append(",")
        }
        if let fields, let status = fields.status {
            output.key("reported_status", indent: 3)
            fields.value(status, indent: 3, into: &output)
            output.append(",")
        }
        output.key("seconds_since_heartbeat", indent: 3)
        output.integer(state.secondsSinceHeartbeat)
        output.append(",")
        output.key("status", indent: 3)
        output.string(state.status.rawValue)
        output.newline(indent: 2)
        output.append("}")
    }

    private func alert(_ state: AgentState, time: String, into output: inout JSONOutput) {
        let seconds = state.secondsSinceHeartbeat ?? 0
        let record = alertRecords[state.agent.id]
        output.newline(indent: 2)
        output.append("{")
        output.key("agent_id", indent: 3)
        output.string(state.agent.id)
        output.append(",")
        output.key("agent_name", indent: 3)
        output.string(state.agent.name)
        output.append(",")
        output.key("alert_time", indent: 3)
        output.string(time)
        output.append(",")
        output.key("last_notified", indent: 3)
        output.string(record.flatMap { $0.alerted ? iso8601(milliseconds: $0.lastNotified) : nil })
        output.append(",")
        output.key("message", indent: 3)
        output.string(Self.offlineMessage(for: state.agent, secondsOffline: seconds))
        output.append(",")
        output.key("seconds_offline", indent: 3)
        output.integer(seconds)
        output.newline(indent: 2)
        output.append("}")
    }

    static func offlineMessage(for agent: MonitorConfiguration.Agent, secondsOffline: Int64) -> String {
        "Agent \(agent.name) (\(agent.id)) is offline: no heartbeat for \(formatDuration(seconds: secondsOffline))"
            + " (threshold \(formatDuration(seconds: agent.offlineThreshold.wholeSeconds)))"
    }
}

/// A payload split the way the map shows it: `status` (when text), `timestamp`, and the other
/// fields as metadata, sorted by key, the last of duplicate keys winning.
private struct PayloadFields {
    let payload: ArraySlice<UInt8>
    var status: JSONParser.Member?
    var timestamp: JSONParser.Member?
    var metadata: [JSONParser.Member] = []

    init(_ payload: ArraySlice<UInt8>) {
        self.payload = payload
        let members = payload.withUnsafeBufferPointer { try? JSONParser.members(of: $0) } ?? nil
        for member in members ?? [] {
            switch member.key {
            case "status" where payload[payload.startIndex + member.value.lowerBound] == UInt8(ascii: "\""): status = member
            case "timestamp": timestamp = member
            default: metadata.append(member)
            }
        }
        guard metadata.count > 1 else { return }
        // Ranges grow through the payload, so the later of two equal keys sorts after.
        metadata.sort { ($0.key, $0.value.lowerBound) < ($1.key, $1.value.lowerBound) }
        metadata = metadata.indices.filter { $0 + 1 == metadata.count || metadata[$0 + 1].key != metadata[$0].key }.map { metadata[$0] }
    }

    func value(_ member: JSONParser.Member, indent: Int, into output: inout JSONOutput) {
        payload.withUnsafeBufferPointer { bytes in
            output.value(UnsafeBufferPointer(rebasing: bytes[member.value]), indent: indent)
        }
    }
}
