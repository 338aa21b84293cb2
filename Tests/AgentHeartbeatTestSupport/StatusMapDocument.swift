import AgentHeartbeatCore
import Foundation

/// A status map file as a reader sees it, decoded with Foundation: for tests only, so that the
/// core needs no Foundation. Its fields follow `agent_heartbeat.schema.json`.
public struct StatusMapDocument: Sendable, Equatable, Decodable {
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

    public var timestamp: String
    public var agents: [String: Entry]
    public var alerts: [Alert]
    public var summary: StatusMap.Summary
    /// Present while heartbeats may be missing from Redis: why.
    public var degraded: String?

    /// Reads a map file's bytes.
    public init(json: [UInt8]) throws {
        self = try JSONDecoder().decode(StatusMapDocument.self, from: Data(json))
    }
}
