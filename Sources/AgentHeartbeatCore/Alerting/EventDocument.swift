import Foundation

/// The JSON documents webhooks and PagerDuty receive, one per event. Pure.
///
/// A webhook event (version 1; README, "Webhook"): `version`, `id`, `kind` (alert, reminder,
/// recovery, test), `trouble`, `time`, and `agent` or `group` (the other null). New members may
/// be added within a version; none is removed or changes meaning.
public enum EventDocument {
    public static let version = 1

    struct Webhook: Encodable {
        var version = EventDocument.version
        var id: String
        var kind: String
        var trouble: String?
        var time: String
        var agent: Agent?
        var group: Group?
        var message: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(version, forKey: .version)
            try container.encode(id, forKey: .id)
            try container.encode(kind, forKey: .kind)
            try container.encode(trouble, forKey: .trouble)
            try container.encode(time, forKey: .time)
            try container.encode(agent, forKey: .agent)
            try container.encode(group, forKey: .group)
            try container.encodeIfPresent(message, forKey: .message)
        }

        enum CodingKeys: String, CodingKey { case version, id, kind, trouble, time, agent, group, message }
    }

    struct Agent: Encodable {
        var id: String
        var name: String
        var status: String
        var condition: String
        var lastHeartbeat: String?
        var secondsSilent: Int64?
        var reportedStatus: String?
        var wasOfflineSeconds: Int64?
        var suppressedBy: String?
        var affected: [String]
        /// The last heartbeat's payload as the agent sent it.
        var payload: JSONValue?
        var recoveryAction: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            try container.encode(status, forKey: .status)
            try container.encode(condition, forKey: .condition)
            try container.encode(lastHeartbeat, forKey: .lastHeartbeat)
            try container.encode(secondsSilent, forKey: .secondsSilent)
            try container.encode(reportedStatus, forKey: .reportedStatus)
            try container.encodeIfPresent(wasOfflineSeconds, forKey: .wasOfflineSeconds)
            try container.encodeIfPresent(suppressedBy, forKey: .suppressedBy)
            try container.encode(affected, forKey: .affected)
            try container.encode(payload ?? .null, forKey: .payload)
            try container.encodeIfPresent(recoveryAction, forKey: .recoveryAction)
        }

        enum CodingKeys: String, CodingKey {
            case id, name, status, condition, affected, payload
            case lastHeartbeat = "last_heartbeat"
            case secondsSilent = "seconds_silent"
            case reportedStatus = "reported_status"
            case wasOfflineSeconds = "was_offline_seconds"
            case suppressedBy = "suppressed_by"
            case recoveryAction = "recovery_action"
        }
    }

    struct Group: Encodable {
        var id: String
        var name: String
        var status: String
        var online: Int
        var total: Int
        var minOnline: Int
        var notOnline: [String]

        enum CodingKeys: String, CodingKey {
            case id, name, status, online, total
            case minOnline = "min_online"
            case notOnline = "not_online"
        }
    }

    /// The webhook's body for `event`.
    public static func webhook(_ event: AlertPolicy.Event, id: String, now: Int64) -> String {
        encode(
            Webhook(
                id: id,
                kind: event.kind.rawValue,
                trouble: event.trouble.rawValue,
                time: iso8601(milliseconds: now),
                agent: event.state.map { agent($0, event: event) },
                group: group(of: event)
            )
        )
    }

    /// What `test-alert` posts: kind `test`, no agent.
    public static func webhookTest(id: String, now: Int64, message: String) -> String {
        encode(Webhook(id: id, kind: "test", time: iso8601(milliseconds: now), message: message))
    }

    /// A PagerDuty Events API v2 event without its `routing_key` (a secret, added when sent):
    /// alerts trigger and recoveries resolve the incident `dedupKey` names; reminders send nothing
    /// (PagerDuty keeps the incident open and escalates by itself).
    public static func pagerDuty(_ event: AlertPolicy.Event, dedupKey: String, source: String, now: Int64) -> String? {
        switch event.kind {
        case .reminder: return nil
        case .recovery: return encode(PagerDutyEvent(eventAction: "resolve", dedupKey: dedupKey))
        case .alert:
            let summary = AlertMessage.subject(of: [event]) + ": " + statusLine(of: event)
            let details: PagerDutyDetails =
                event.state.map { .agent(agent($0, event: event)) } ?? .group(group(of: event)!)
            return encode(
                PagerDutyEvent(
                    eventAction: "trigger",
                    dedupKey: dedupKey,
                    payload: .init(
                        summary: String(summary.unicodeScalars.prefix(1024).map(Character.init)),
                        source: String(source.prefix(255)),
                        severity: severity(of: event.trouble),
                        timestamp: iso8601(milliseconds: now),
                        group: event.state == nil ? "group" : "agent",
                        eventClass: event.trouble.rawValue,
                        customDetails: details
                    )
                )
            )
        }
    }

    /// A test event that triggers and is meant to be resolved at once (`test-alert`).
    public static func pagerDutyTest(action: String, dedupKey: String, source: String, now: Int64) -> String {
        encode(
            PagerDutyEvent(
                eventAction: action,
                dedupKey: dedupKey,
                payload: action == "trigger"
                    ? .init(
                        summary: "agent-heartbeat test event from \(source.prefix(200))",
                        source: String(source.prefix(255)),
                        severity: "info",
                        timestamp: iso8601(milliseconds: now),
                        group: "test",
                        eventClass: "test",
                        customDetails: nil
                    ) : nil
            )
        )
    }

    /// One incident per agent or group and deployment, at most 255 characters as PagerDuty takes.
    public static func dedupKey(prefix: String, field: String) -> String {
        let key = "agent-heartbeat/\(prefix)/\(field)"
        guard key.utf8.count > 255 else { return key }
        return "agent-heartbeat/" + hexDigest(sha256(Array(key.utf8)))
    }

    static func severity(of trouble: AlertPolicy.Trouble) -> String {
        switch trouble {
        case .offline, .belowQuorum: "critical"
        case .failing: "error"
        case .flapping, .late: "warning"
        }
    }

    /// "silent for 5m (threshold 2m)", "reported error", "1 of 3 online, needs 2".
    static func statusLine(of event: AlertPolicy.Event) -> String {
        switch event.subject {
        case .group(let group): return "\(group.online) of \(group.total) online, needs \(group.group.minOnline)"
        case .agent(let state):
            switch event.trouble {
            case .failing: return "reported " + MessageFormat.plain.cut(state.reportedStatus ?? "a failing status")
            case .flapping: return "\(state.evaluation.restarts) restarts"
            default: return "silent for \(formatDuration(seconds: state.secondsSilent ?? 0))"
            }
        }
    }

    static func agent(_ state: AgentState, event: AlertPolicy.Event) -> Agent {
        let payload = state.payload.flatMap { bytes in
            Array(bytes).withUnsafeBufferPointer { try? JSONParser.parse($0) }
        }
        var wasOffline: Int64?
        if event.kind == .recovery, event.trouble == .offline, let before = event.lastSeenBefore,
            let now = state.lastHeartbeat
        {
            wasOffline = max(0, now - before) / 1000
        }
        return Agent(
            id: state.agent.id,
            name: state.agent.name,
            status: state.status.rawValue,
            condition: state.condition.rawValue,
            lastHeartbeat: state.lastHeartbeat.map { iso8601(milliseconds: $0) },
            secondsSilent: state.secondsSilent,
            reportedStatus: state.reportedStatus,
            wasOfflineSeconds: wasOffline,
            suppressedBy: state.suppressedBy,
            affected: state.affected.map(\.id),
            payload: payload,
            recoveryAction: event.note
        )
    }

    static func group(of event: AlertPolicy.Event) -> Group? {
        guard case .group(let state) = event.subject else { return nil }
        return Group(
            id: state.group.id,
            name: state.group.name,
            status: state.status.rawValue,
            online: state.online,
            total: state.total,
            minOnline: state.group.minOnline,
            notOnline: state.notOnline
        )
    }

    enum PagerDutyDetails: Encodable {
        case agent(Agent)
        case group(Group)

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .agent(let agent): try agent.encode(to: encoder)
            case .group(let group): try group.encode(to: encoder)
            }
        }
    }

    struct PagerDutyEvent: Encodable {
        var eventAction: String
        var dedupKey: String
        var payload: Payload?
        var client = "agent-heartbeat"

        struct Payload: Encodable {
            var summary: String
            var source: String
            var severity: String
            var timestamp: String
            var component = "agent-heartbeat"
            var group: String
            var eventClass: String
            var customDetails: PagerDutyDetails?

            enum CodingKeys: String, CodingKey {
                case summary, source, severity, timestamp, component, group
                case eventClass = "class"
                case customDetails = "custom_details"
            }
        }

        enum CodingKeys: String, CodingKey {
            case payload, client
            case eventAction = "event_action"
            case dedupKey = "dedup_key"
        }
    }

    private static func encode(_ value: some Encodable) -> String { jsonText(value) }
}

/// `value` as compact JSON text with sorted keys and unescaped slashes: what receivers are sent and
/// queues hold. Strings, numbers, lists and `JSONValue`s cannot fail to encode; anything that did
/// would give `{}`.
public func jsonText(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
}
