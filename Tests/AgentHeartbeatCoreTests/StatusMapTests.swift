import AgentHeartbeatCore
import Foundation
import Testing

@Suite("Status map")
struct StatusMapTests {
    let now: Int64 = 1_796_000_000_000  // 2026-11-30T00:53:20Z
    let agents = [
        MonitorConfiguration.Agent(id: "mary", name: "Mary", offlineThreshold: .seconds(300)),
        MonitorConfiguration.Agent(id: "lisa", name: "Lisa", offlineThreshold: .seconds(300)),
        MonitorConfiguration.Agent(id: "hybrid", name: "Hybrid", channel: "custom", offlineThreshold: .seconds(300)),
    ]

    func map() -> StatusMap {
        let records: [HeartbeatRecord?] = [
            HeartbeatRecord(receivedAt: now - 2_500, payload: Array(#"{"status":"ok","signals_sent":42}"#.utf8)),
            HeartbeatRecord(receivedAt: now - 3_725_000, payload: nil, error: "payload is not valid JSON"),
            nil,
        ]
        return StatusMap(states: zip(agents, records).map { AgentState(agent: $0, record: $1, now: now) }, now: now)
    }

    @Test func summaryAndAlerts() {
        let map = map()
        #expect(map.timestamp == "2026-11-30T00:53:20.000Z")
        #expect(map.summary == .init(totalAgents: 3, onlineAgents: 1, offlineAgents: 1, unknownAgents: 1))
        #expect(map.alerts.count == 1)
        let alert = map.alerts[0]
        #expect(alert.agentID == "lisa")
        #expect(alert.agentName == "Lisa")
        #expect(alert.secondsOffline == 3725)
        #expect(alert.alertTime == map.timestamp)
        #expect(alert.message == "Agent Lisa (lisa) is offline: no heartbeat for 1h 2m 5s (threshold 5m)")
    }

    @Test func entries() throws {
        let map = map()
        let mary = try #require(map.agents["mary"])
        #expect(mary.status == .online)
        #expect(mary.lastHeartbeat == "2026-11-30T00:53:17.500Z")
        #expect(mary.secondsSinceHeartbeat == 2)
        #expect(mary.channel == "agents:heartbeat:mary")
        #expect(mary.reportedStatus == "ok")
        #expect(mary.metadata == ["signals_sent": .integer(42)])
        #expect(map.agents["lisa"]?.payloadError == "payload is not valid JSON")
        #expect(map.agents["hybrid"]?.channel == "custom")
    }

    @Test func jsonHasExplicitNullsAndOmitsAbsentExtras() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: map().jsonData()) as? [String: Any])
        let agents = try #require(object["agents"] as? [String: [String: Any]])
        let hybrid = try #require(agents["hybrid"])
        #expect(hybrid["last_heartbeat"] is NSNull)
        #expect(hybrid["seconds_since_heartbeat"] is NSNull)
        #expect(hybrid["status"] as? String == "unknown")
        #expect(hybrid["reported_status"] == nil)
        #expect(hybrid["payload_error"] == nil)
        #expect(Set(object.keys) == ["timestamp", "agents", "alerts", "summary"])
        let summary = try #require(object["summary"] as? [String: Int])
        #expect(summary == ["total_agents": 3, "online_agents": 1, "offline_agents": 1, "unknown_agents": 1])
    }

    @Test func roundTrips() throws {
        let map = map()
        #expect(try JSONDecoder().decode(StatusMap.self, from: map.jsonData()) == map)
    }

    @Test func schemaIsDraft2020AndRequiresSummary() throws {
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(StatusMap.schema.utf8)) as? [String: Any])
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        #expect((schema["required"] as? [String])?.contains("summary") == true)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_796_000_000_123, "2026-11-30T00:53:20.123Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func iso8601Formatting(milliseconds: Int64, expected: String) {
        #expect(iso8601(milliseconds: milliseconds) == expected)
    }

    @Test func durations() {
        #expect(formatDuration(seconds: 0) == "0s")
        #expect(formatDuration(seconds: 59) == "59s")
        #expect(formatDuration(seconds: 300) == "5m")
        #expect(formatDuration(seconds: 90_061) == "1d 1h 1m 1s")
    }
}
