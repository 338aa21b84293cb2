/// The status map written to hub/agent_heartbeat.json, in the original monitor's format:
/// `StatusMapRenderer` writes it, its JSON Schema is `agent_heartbeat.schema.json` beside this file.
/// (Tests read maps back with `StatusMapDocument`, in the test support target.)
public enum StatusMap {
    public struct Summary: Sendable, Equatable, Decodable {
        public var totalAgents: Int
        public var onlineAgents: Int
        public var offlineAgents: Int
        public var unknownAgents: Int
        /// Online agents that are late, failing or flapping; agents silenced; agents whose trouble a
        /// dependency causes. Optional: maps of older versions lack them.
        public var lateAgents: Int?
        public var failingAgents: Int?
        public var flappingAgents: Int?
        public var silencedAgents: Int?
        public var suppressedAgents: Int?

        public init(totalAgents: Int, onlineAgents: Int, offlineAgents: Int, unknownAgents: Int) {
            self.totalAgents = totalAgents
            self.onlineAgents = onlineAgents
            self.offlineAgents = offlineAgents
            self.unknownAgents = unknownAgents
        }

        /// The four counts of the original format alone.
        public var original: Summary {
            Summary(
                totalAgents: totalAgents,
                onlineAgents: onlineAgents,
                offlineAgents: offlineAgents,
                unknownAgents: unknownAgents
            )
        }

        public init(states: AgentStates, assessment: Assessment = Assessment()) {
            self.init(totalAgents: states.count, onlineAgents: 0, offlineAgents: 0, unknownAgents: 0)
            var (late, failing, flapping) = (0, 0, 0)
            for evaluation in states.evaluations {
                switch evaluation.status {
                case .online: onlineAgents += 1
                case .offline: offlineAgents += 1
                case .unknown: unknownAgents += 1
                }
                switch evaluation.condition {
                case .late: late += 1
                case .failing: failing += 1
                case .flapping: flapping += 1
                case .online, .offline, .unknown: break
                }
            }
            (lateAgents, failingAgents, flappingAgents) = (late, failing, flapping)
            silencedAgents = assessment.silenced.count
            suppressedAgents = assessment.suppressedBy.count
        }

        enum CodingKeys: String, CodingKey {
            case totalAgents = "total_agents"
            case onlineAgents = "online_agents"
            case offlineAgents = "offline_agents"
            case unknownAgents = "unknown_agents"
            case lateAgents = "late_agents"
            case failingAgents = "failing_agents"
            case flappingAgents = "flapping_agents"
            case silencedAgents = "silenced_agents"
            case suppressedAgents = "suppressed_agents"
        }
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
