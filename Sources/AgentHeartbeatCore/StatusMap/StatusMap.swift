import Foundation

/// The status map written to hub/agent_heartbeat.json, in the original monitor's format, as a
/// reader sees it; `StatusMapRenderer` writes it. Its JSON Schema is `agent_heartbeat.schema.json`
/// beside this file.
public struct StatusMap: Sendable, Equatable, Decodable {
    public struct Entry: Sendable, Equatable, Decodable {
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
    }

    public struct Alert: Sendable, Equatable, Decodable {
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
    }

    public struct Summary: Sendable, Equatable, Decodable {
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

        public init(states: [AgentState]) {
            self.init(totalAgents: states.count, onlineAgents: 0, offlineAgents: 0, unknownAgents: 0)
            for state in states {
                switch state.status {
                case .online: onlineAgents += 1
                case .offline: offlineAgents += 1
                case .unknown: unknownAgents += 1
                }
            }
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
    /// Present while heartbeats may be missing from Redis: why.
    public var degraded: String?

    /// Reads a map file's bytes.
    public init(json: [UInt8]) throws {
        self = try JSONDecoder().decode(StatusMap.self, from: Data(json))
    }

    /// The shipped JSON Schema (draft 2020-12) of this document.
    public static var schema: String { String(decoding: PackageResources.agent_heartbeat_schema_json, as: UTF8.self) }
}

/// `3725` → `1h 2m 5s`; what people read in alerts.
public func formatDuration(seconds: Int64) -> String {
    var output = JSONOutput()
    output.duration(seconds: seconds)
    return String(decoding: output.bytes, as: UTF8.self)
}
