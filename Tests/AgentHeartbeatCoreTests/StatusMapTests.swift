import AgentHeartbeatCore
import AgentHeartbeatTestSupport
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

    func renderer(payload: String = #"{"status":"ok","signals_sent":42}"#) -> StatusMapRenderer {
        let records: [HeartbeatRecord?] = [
            HeartbeatRecord(receivedAt: now - 2_500, payload: Array(payload.utf8)),
            HeartbeatRecord(receivedAt: now - 3_725_000, payload: nil, error: "payload is not valid JSON"),
            nil,
        ]
        return StatusMapRenderer(
            states: zip(agents, records).map { AgentState(agent: $0, record: $1, now: now) },
            now: now
        )
    }

    func map(payload: String = #"{"status":"ok","signals_sent":42}"#) throws -> StatusMapDocument {
        try StatusMapDocument(json: renderer(payload: payload).render())
    }

    @Test func summaryAndAlerts() throws {
        let map = try map()
        #expect(map.timestamp == "2026-11-30T00:53:20.000Z")
        var summary = StatusMap.Summary(totalAgents: 3, onlineAgents: 1, offlineAgents: 1, unknownAgents: 1)
        (summary.lateAgents, summary.failingAgents, summary.flappingAgents) = (0, 0, 0)
        (summary.silencedAgents, summary.suppressedAgents) = (0, 0)
        #expect(map.summary == summary)
        #expect(map.alerts.count == 1)
        let alert = map.alerts[0]
        #expect(alert.agentID == "lisa")
        #expect(alert.agentName == "Lisa")
        #expect(alert.secondsOffline == 3725)
        #expect(alert.alertTime == map.timestamp)
        #expect(alert.message == "Agent Lisa (lisa) is offline: no heartbeat for 1h 2m 5s (threshold 5m)")
    }

    @Test func entries() throws {
        let map = try map()
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
        let object = try #require(try JSONSerialization.jsonObject(with: Data(renderer().render())) as? [String: Any])
        let agents = try #require(object["agents"] as? [String: [String: Any]])
        let hybrid = try #require(agents["hybrid"])
        #expect(hybrid["last_heartbeat"] is NSNull)
        #expect(hybrid["seconds_since_heartbeat"] is NSNull)
        #expect(hybrid["status"] as? String == "unknown")
        #expect(hybrid["reported_status"] == nil)
        #expect(hybrid["payload_error"] == nil)
        // The original members, and `groups` (empty without groups in agents.yaml).
        #expect(Set(object.keys) == ["timestamp", "agents", "alerts", "summary", "groups"])
        #expect((object["groups"] as? [String: Any])?.isEmpty == true)
        let summary = try #require(object["summary"] as? [String: Int])
        #expect(
            summary == [
                "total_agents": 3, "online_agents": 1, "offline_agents": 1, "unknown_agents": 1, "late_agents": 0,
                "failing_agents": 0, "flapping_agents": 0, "silenced_agents": 0, "suppressed_agents": 0,
            ]
        )
    }

    @Test func prettyPrintedWithKeysSorted() throws {
        let text = String(
            decoding: renderer(payload: #"{"z":1,"status":"ok","a":{"y":[],"x":[1,{}]}}"#).render(),
            as: UTF8.self
        )
        #expect(text.hasPrefix("{\n  \"agents\" : {\n    \"hybrid\" : {\n      \"channel\" : \"custom\",\n"))
        // Payload values are copied compact, never re-indented (issue 9: re-indenting inflated the map).
        #expect(
            text.contains(
                """
                      "metadata" : {
                        "a" : {"y":[],"x":[1,{}]},
                        "z" : 1
                      },
                """
            )
        )
        #expect(text.hasSuffix("  \"timestamp\" : \"2026-11-30T00:53:20.000Z\"\n}\n"))
        let ids = ["hybrid", "lisa", "mary"].map { text.range(of: "\"\($0)\" : {")!.lowerBound }
        #expect(ids == ids.sorted())
    }

    /// Found in issue 9: one 64 KB payload nested 510 deep made a 33 MB map (re-indented per level).
    @Test func mapSizeIsBoundedByThePayloadsWhateverTheirDepth() throws {
        for depth in [1, 510, 5000] {
            let payload =
                "{\"deep\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
                + ",\"status\":\"ok\"}"
            let text = renderer(payload: payload).render()
            let baseline = renderer(payload: #"{"status":"ok"}"#).render()
            // The payload's bytes plus one member's key and separators, whatever the depth.
            #expect(text.count <= baseline.count + payload.utf8.count + 32, "depth \(depth): \(text.count) bytes")
            guard depth < 500 else { continue }  // Foundation's decoder stops at 512 levels
            let decoded = try StatusMapDocument(json: text)
            #expect(decoded.agents["mary"]?.reportedStatus == "ok")
        }
    }

    @Test(arguments: [
        #"{"note":"line\nbreak \"quoted\" \u00e9 \/"}"#,
        #"{ "spaced" : [ 1 , 2.5e-3 , true , null ] , "status" : 3 }"#,
        #"{"dup":1,"dup":2,"timestamp":{"t":1}}"#,
        "{}",
    ])
    func payloadsPassThroughAsValidJSON(payload: String) throws {
        let rendered = try #require(try map(payload: payload).agents["mary"])
        let expected = try HeartbeatPayload.parse(Array(payload.utf8)).get()
        #expect(rendered.metadata == expected.metadata)
        #expect(rendered.reportedStatus == expected.reportedStatus)
        #expect(rendered.reportedAt == expected.reportedAt)
    }

    @Test func textIsEscaped() throws {
        let odd = MonitorConfiguration.Agent(id: "a\"b", name: "Tab\tand \\ and \u{1}", offlineThreshold: .seconds(300))
        let map = try StatusMapDocument(
            json: StatusMapRenderer(states: [AgentState(agent: odd, record: nil, now: now)], now: now).render()
        )
        #expect(map.agents["a\"b"]?.name == "Tab\tand \\ and \u{1}")
    }

    @Test func chunksJoinToTheWholeMap() throws {
        let whole = renderer().render()
        var chunks: [[UInt8]] = []
        renderer().render(chunkSize: 100) { chunks.append(Array($0)) }
        #expect(chunks.count > 1)
        #expect(Array(chunks.joined()) == whole)
    }

    @Test func compactAboveThePrettyLimit() throws {
        let many = (0...StatusMapRenderer.prettyLimit).map {
            MonitorConfiguration.Agent(id: "agent-\($0)", name: "Agent \($0)")
        }
        let record = HeartbeatRecord(
            receivedAt: now - 1_000,
            payload: Array(#"{"status":"ok","nested":{"a":[1,2]}}"#.utf8)
        )
        let bytes = StatusMapRenderer(states: many.map { AgentState(agent: $0, record: record, now: now) }, now: now)
            .render()
        #expect(bytes.firstIndex(of: UInt8(ascii: "\n")) == bytes.count - 1)
        let map = try StatusMapDocument(json: bytes)
        #expect(map.agents.count == many.count)
        #expect(map.agents["agent-7"]?.metadata == ["nested": .object(["a": .array([.integer(1), .integer(2)])])])
    }

    @Test func emptyMap() throws {
        let map = try StatusMapDocument(json: StatusMapRenderer(states: [], now: now).render())
        #expect(map.agents.isEmpty && map.alerts.isEmpty && map.summary.totalAgents == 0)
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
        (253_402_300_800_000, "10000-01-01T00:00:00.000Z"),
        (-62_167_219_200_001, "-1-12-31T23:59:59.999Z"),
    ])
    func iso8601Formatting(milliseconds: Int64, expected: String) {
        #expect(iso8601(milliseconds: milliseconds) == expected)
    }

    /// The renderer keeps the last date it wrote: agents heard on other days, in any order, still
    /// get their own.
    @Test func timesOnManyDaysInOneMap() throws {
        let times: [Int64] = [now - 1, now - 86_400_000, now - 1, now - 400 * 86_400_000, now - 90_000_000]
        let agents = times.indices.map { MonitorConfiguration.Agent(id: "a\($0)", name: "A") }
        let states = zip(agents, times).map { AgentState(agent: $0, record: HeartbeatRecord(receivedAt: $1), now: now) }
        let map = try StatusMapDocument(json: StatusMapRenderer(states: states, now: now).render())
        #expect(agents.map { map.agents[$0.id]?.lastHeartbeat } == times.map { iso8601(milliseconds: $0) })
        #expect(map.agents["a1"]?.lastHeartbeat == "2026-11-29T00:53:20.000Z")
    }

    @Test func durations() {
        #expect(formatDuration(seconds: 0) == "0s")
        #expect(formatDuration(seconds: 59) == "59s")
        #expect(formatDuration(seconds: 300) == "5m")
        #expect(formatDuration(seconds: 90_061) == "1d 1h 1m 1s")
    }
}
