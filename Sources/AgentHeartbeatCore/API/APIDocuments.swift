/// The JSON documents of the HTTP API (`/api/v1`), as `openapi.json` describes them. Pure: made
/// from a check's states, history read from Redis and the configuration. Every member is present,
/// `null` when it has no value (`Nullable`), as the document requires.
public enum APIDocument {
    /// One agent in a list: what the latest check concluded.
    public struct AgentSummary: Encodable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var status: String
        public var condition: String
        /// The history's word for it: the condition, or `silenced`.
        public var state: String
        @Nullable public var lastHeartbeat: String?
        @Nullable public var secondsSinceHeartbeat: Int64?
        @Nullable public var silencedUntil: String?
        @Nullable public var silenceReason: String?
        @Nullable public var suppressedBy: String?
        public var groups: [String]
        /// Declared metrics (`metrics`) as the last payload reported them.
        public var metrics: [String: Double]

        enum CodingKeys: String, CodingKey {
            case id, name, status, condition, state, groups, metrics
            case lastHeartbeat = "last_heartbeat"
            case secondsSinceHeartbeat = "seconds_since_heartbeat"
            case silencedUntil = "silenced_until"
            case silenceReason = "silence_reason"
            case suppressedBy = "suppressed_by"
        }
    }

    /// The agents of a check, filtered and paged.
    public struct AgentList: Encodable, Sendable {
        public var now: String
        /// Agents that match the filters, before paging.
        public var total: Int
        /// Agents per state, over all agents (the dashboard's cards).
        public var counts: [String: Int]
        public var agents: [AgentSummary]
    }

    public struct Change: Encodable, Sendable, Equatable {
        public var time: String
        @Nullable public var from: String?
        public var to: String
        public var reason: String

        public init(_ change: StateChange) {
            time = iso8601(milliseconds: change.at)
            from = change.from?.rawValue
            to = change.to.rawValue
            reason = change.reason
        }
    }

    public struct UptimeFigures: Encodable, Sendable, Equatable {
        public var windowSeconds: Double
        public var monitoredSeconds: Double
        public var upSeconds: Double
        public var downSeconds: Double
        public var silencedSeconds: Double
        public var unknownSeconds: Double
        /// Up ÷ monitored, from 0 to 1; nil when nothing was monitored.
        @Nullable public var ratio: Double?

        public init(_ uptime: Uptime) {
            func seconds(_ milliseconds: Int64) -> Double { Double(milliseconds) / 1000 }
            windowSeconds = seconds(uptime.window)
            monitoredSeconds = seconds(uptime.monitored)
            upSeconds = seconds(uptime.up)
            downSeconds = seconds(uptime.down)
            silencedSeconds = seconds(uptime.silenced)
            unknownSeconds = seconds(uptime.unknown)
            ratio = uptime.ratio
        }

        enum CodingKeys: String, CodingKey {
            case ratio
            case windowSeconds = "window_seconds"
            case monitoredSeconds = "monitored_seconds"
            case upSeconds = "up_seconds"
            case downSeconds = "down_seconds"
            case silencedSeconds = "silenced_seconds"
            case unknownSeconds = "unknown_seconds"
        }
    }

    /// One minute of a metric: its last, lowest and highest value.
    public struct Point: Encodable, Sendable, Equatable {
        public var minute: String
        public var last: Double
        public var min: Double
        public var max: Double
    }

    /// One agent, with its history, uptime and series.
    public struct AgentDetail: Encodable, Sendable {
        public var now: String
        public var agent: AgentSummary
        /// Its last payload as sent, or nil.
        @Nullable public var payload: JSONValue?
        @Nullable public var payloadError: String?
        @Nullable public var expectedIntervalSeconds: Double?
        /// The latest state changes, newest first.
        public var history: [Change]
        /// The changes of the last 24 hours and the one before them, oldest first: the day's bar.
        public var timeline: [Change]
        public var uptime: [String: UptimeFigures]
        /// Metric name → per-minute points, oldest first.
        public var series: [String: [Point]]

        public init(
            now: String,
            agent: AgentSummary,
            payload: JSONValue?,
            payloadError: String?,
            expectedIntervalSeconds: Double?,
            history: [Change],
            timeline: [Change],
            uptime: [String: UptimeFigures],
            series: [String: [Point]]
        ) {
            self.now = now
            self.agent = agent
            self.payload = payload
            self.payloadError = payloadError
            self.expectedIntervalSeconds = expectedIntervalSeconds
            self.history = history
            self.timeline = timeline
            self.uptime = uptime
            self.series = series
        }

        enum CodingKeys: String, CodingKey {
            case now, agent, payload, history, timeline, uptime, series
            case payloadError = "payload_error"
            case expectedIntervalSeconds = "expected_interval_seconds"
        }
    }

    public struct Group: Encodable, Sendable {
        public var id: String
        public var name: String
        public var members: [String]
        public var minOnline: Int
        public var online: Int
        public var status: String
        public var notOnline: [String]
        @Nullable public var silencedUntil: String?

        enum CodingKeys: String, CodingKey {
            case id, name, members, online, status
            case minOnline = "min_online"
            case notOnline = "not_online"
            case silencedUntil = "silenced_until"
        }
    }

    public struct SilenceDocument: Encodable, Sendable {
        public var id: String
        public var target: String
        public var reason: String
        public var createdAt: String
        public var until: String

        public init(_ silence: Silence) {
            id = silence.id
            target = silence.target
            reason = silence.reason
            createdAt = iso8601(milliseconds: silence.createdAt)
            until = iso8601(milliseconds: silence.until)
        }

        enum CodingKeys: String, CodingKey {
            case id, target, reason, until
            case createdAt = "created_at"
        }
    }

    /// An error, as RFC 9457 describes it (`application/problem+json`).
    public struct Problem: Encodable, Sendable, Equatable, Error {
        public var type = "about:blank"
        public var title: String
        public var status: Int
        public var detail: String

        public init(status: Int, title: String, detail: String) {
            self.status = status
            self.title = title
            self.detail = detail
        }
    }
}

/// An optional member encoded as `null` when it has no value (a synthesized `Encodable` leaves it
/// out).
@propertyWrapper
public struct Nullable<Value: Encodable & Sendable & Equatable>: Encodable, Sendable, Equatable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
