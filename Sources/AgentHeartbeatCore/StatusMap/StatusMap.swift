import Foundation

/// The status map written to hub/agent_heartbeat.json, in the original monitor's format.
/// Its JSON Schema is `agent_heartbeat.schema.json` beside this file.
public struct StatusMap: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var id: String
        public var name: String
        public var status: AgentStatus
        public var lastHeartbeat: String?
        public var secondsSinceHeartbeat: Int64?
        public var channel: String
        public var metadata: [String: JSONValue]
        public var reportedStatus: String?
        public var reportedAt: JSONValue?
        public var payloadError: String?

        enum CodingKeys: String, CodingKey {
            case id, name, status, channel, metadata
            case lastHeartbeat = "last_heartbeat"
            case secondsSinceHeartbeat = "seconds_since_heartbeat"
            case reportedStatus = "reported_status"
            case reportedAt = "reported_at"
            case payloadError = "payload_error"
        }

        /// The original format always has `last_heartbeat` and `seconds_since_heartbeat`, null when unknown;
        /// our additions appear only where present.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(status, forKey: .status)
            try container.encode(lastHeartbeat, forKey: .lastHeartbeat)
            try container.encode(secondsSinceHeartbeat, forKey: .secondsSinceHeartbeat)
            try container.encode(channel, forKey: .channel)
            try container.encode(metadata, forKey: .metadata)
            try container.encodeIfPresent(reportedStatus, forKey: .reportedStatus)
            try container.encodeIfPresent(reportedAt, forKey: .reportedAt)
            try container.encodeIfPresent(payloadError, forKey: .payloadError)
        }
    }

    public struct Alert: Sendable, Equatable, Codable {
        public var agentID: String
        public var agentName: String
        public var secondsOffline: Int64
        public var alertTime: String
        public var message: String
        /// When a notification about this outage was last delivered; nil if not yet.
        public var lastNotified: String?

        enum CodingKeys: String, CodingKey {
            case agentID = "agent_id"
            case agentName = "agent_name"
            case secondsOffline = "seconds_offline"
            case alertTime = "alert_time"
            case message
            case lastNotified = "last_notified"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(agentID, forKey: .agentID)
            try container.encode(agentName, forKey: .agentName)
            try container.encode(secondsOffline, forKey: .secondsOffline)
            try container.encode(alertTime, forKey: .alertTime)
            try container.encode(message, forKey: .message)
            try container.encode(lastNotified, forKey: .lastNotified)
        }
    }

    public struct Summary: Sendable, Equatable, Codable {
        public var totalAgents: Int
        public var onlineAgents: Int
        public var offlineAgents: Int
        public var unknownAgents: Int

        public init(totalAgents: Int, onlineAgents: Int, offlineAgents: Int, unknownAgents: Int) {
            self.totalAgents = totalAgents
            self.onlineAgents = onlineAgents
            self.offlineAgents = offlineAgents
            self.unknownAgents = unknownAgents
        }

        enum CodingKeys: String, CodingKey {
            case totalAgents = "total_agents"
            case onlineAgents = "online_agents"
            case offlineAgents = "offline_agents"
            case unknownAgents = "unknown_agents"
        }
    }

    public var timestamp: String
    public var agents: [String: Entry]
    public var alerts: [Alert]
    public var summary: Summary

    /// Builds the map from evaluated states at `now` (Redis server clock, milliseconds).
    public init(states: [AgentState], now: Int64, alertRecords: [String: AlertRecord] = [:]) {
        let time = iso8601(milliseconds: now)
        var agents: [String: Entry] = [:]
        agents.reserveCapacity(states.count)
        var alerts: [Alert] = []
        var counts: [AgentStatus: Int] = [:]
        for state in states {
            counts[state.status, default: 0] += 1
            agents[state.agent.id] = Entry(
                id: state.agent.id,
                name: state.agent.name,
                status: state.status,
                lastHeartbeat: state.lastHeartbeat.map { iso8601(milliseconds: $0) },
                secondsSinceHeartbeat: state.secondsSinceHeartbeat,
                channel: state.agent.channel,
                metadata: state.payload?.metadata ?? [:],
                reportedStatus: state.payload?.reportedStatus,
                reportedAt: state.payload?.reportedAt,
                payloadError: state.payloadError)
            if state.status == .offline, let seconds = state.secondsSinceHeartbeat {
                alerts.append(Alert(
                    agentID: state.agent.id, agentName: state.agent.name, secondsOffline: seconds,
                    alertTime: time, message: Self.offlineMessage(for: state.agent, secondsOffline: seconds),
                    lastNotified: alertRecords[state.agent.id].flatMap { $0.alerted ? iso8601(milliseconds: $0.lastNotified) : nil }))
            }
        }
        self.timestamp = time
        self.agents = agents
        self.alerts = alerts
        self.summary = Summary(
            totalAgents: states.count, onlineAgents: counts[.online, default: 0],
            offlineAgents: counts[.offline, default: 0], unknownAgents: counts[.unknown, default: 0])
    }

    static func offlineMessage(for agent: MonitorConfiguration.Agent, secondsOffline: Int64) -> String {
        "Agent \(agent.name) (\(agent.id)) is offline: no heartbeat for \(formatDuration(seconds: secondsOffline))"
            + " (threshold \(formatDuration(seconds: agent.offlineThreshold.wholeSeconds)))"
    }

    /// The file's bytes: pretty-printed, keys sorted, so two replicas' maps diff cleanly.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// The shipped JSON Schema (draft 2020-12) of this document.
    public static var schema: String { String(decoding: PackageResources.agent_heartbeat_schema_json, as: UTF8.self) }
}

/// `3725` → `1h 2m 5s`; what people read in alerts.
public func formatDuration(seconds: Int64) -> String {
    guard seconds > 0 else { return "0s" }
    let parts: [(Int64, String)] = [(seconds / 86_400, "d"), (seconds % 86_400 / 3600, "h"), (seconds % 3600 / 60, "m"), (seconds % 60, "s")]
    return parts.filter { $0.0 > 0 }.map { "\($0.0)\($0.1)" }.joined(separator: " ")
}
