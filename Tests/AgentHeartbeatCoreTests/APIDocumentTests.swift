import AgentHeartbeatCore
import Testing

@Suite("API documents, metrics and their configuration")
struct APIDocumentTests {
    let now: Int64 = 1_800_000_000_000

    func catalog() throws -> AgentCatalog {
        let configuration = try ConfigurationTests().load(
            """
            offline_threshold_seconds: 60
            metrics: [response_time_ms, error_rate]
            groups:
              - id: web
                name: Web
                members: [mary, bob]
                min_online: 1
            agents:
              - id: mary
                name: Mary Smith
              - id: bob
                name: Bob
                metrics: [queue_depth]
              - id: eve
                name: Eve
            """
        )
        let records: [String: HeartbeatRecord] = [
            "mary": HeartbeatRecord(
                receivedAt: now - 5_000,
                payload: Array(#"{"response_time_ms":12.5,"error_rate":"n/a","queue_depth":3}"#.utf8)
            ),
            "bob": HeartbeatRecord(receivedAt: now - 120_000, payload: Array(#"{"queue_depth":-4e2}"#.utf8)),
        ]
        let states = AgentStates(
            configuration.agents.map { agent in
                AgentState(
                    agent: agent,
                    rules: configuration.rules(of: agent),
                    record: records[agent.id],
                    now: now
                )
            },
            now: now
        )
        var assessment = Assessment(
            plan: Assessment.Plan(configuration),
            agents: states.agents,
            silences: [Silence(id: "s", target: "eve", until: now + 60_000, reason: "deploy", createdAt: now)],
            now: now
        )
        assessment.assess(states, plan: Assessment.Plan(configuration))
        return AgentCatalog(states: states, assessment: assessment, configuration: configuration)
    }

    @Test func agentsAreFilteredPagedAndCountedPerState() throws {
        let catalog = try catalog()
        let all = catalog.list(status: nil, group: nil, query: nil, limit: 10, offset: 0)
        #expect(all.agents.map(\.id) == ["mary", "bob", "eve"])
        #expect(all.agents.map(\.state) == ["online", "offline", "silenced"])
        #expect(all.counts["online"] == 1 && all.counts["offline"] == 1 && all.counts["silenced"] == 1)
        #expect(all.counts["late"] == 0)
        #expect(
            catalog.list(status: "offline", group: nil, query: nil, limit: 10, offset: 0).agents.map(\.id) == ["bob"]
        )
        #expect(catalog.list(status: nil, group: "web", query: nil, limit: 10, offset: 0).total == 2)
        #expect(
            catalog.list(status: nil, group: nil, query: "SMITH", limit: 10, offset: 0).agents.map(\.id) == ["mary"]
        )
        let page = catalog.list(status: nil, group: nil, query: nil, limit: 1, offset: 1)
        #expect(page.total == 3 && page.agents.map(\.id) == ["bob"])
        #expect(catalog.list(status: nil, group: "nope", query: nil, limit: 10, offset: 0).total == 0)
    }

    @Test func declaredMetricsAreTheNumbersThePayloadHolds() throws {
        let catalog = try catalog()
        // A string is no measurement; a per-agent list replaces the global one.
        #expect(catalog.summary(at: 0).metrics == ["response_time_ms": 12.5])
        #expect(catalog.summary(at: 1).metrics == ["queue_depth": -400])
        #expect(catalog.summary(at: 2).metrics.isEmpty)
        #expect(catalog.summary(at: 2).silenceReason == "deploy")
        #expect(catalog.summary(at: 0).groups == ["web"])
    }

    @Test func seriesEntriesReadBackAndMalformedOnesAreSkipped() {
        let points = MetricSeries.points(from: [
            "30000000|response_time_ms=12.5,10,15|0=30.01,29.9,30.2",
            "30000001|response_time_ms=nan,1,2|broken",
            "garbage",
            "30000002|response_time_ms=7,7,7",
        ])
        #expect(points["response_time_ms"]?.map(\.last) == [12.5, 7])
        #expect(points["response_time_ms"]?.first?.minute == "2027-01-15T08:00:00.000Z")
        #expect(points["heartbeat_interval_seconds"]?.first?.max == 30.2)
    }

    @Test func metricNamesAreCheckedWithTheirLine() {
        for (yaml, message) in [
            ("metrics: [response-time]\nagents:\n  - id: a\n    name: A\n", "is not a field name"),
            ("metrics: [a, a]\nagents:\n  - id: a\n    name: A\n", "listed twice"),
            ("metrics: [heartbeat_interval_seconds]\nagents:\n  - id: a\n    name: A\n", "for every agent already"),
            ("metrics: [a, b, c, d, e, f, g, h, i]\nagents:\n  - id: a\n    name: A\n", "at most 8"),
            ("agents:\n  - id: a\n    name: A\n    metrics: [1st]\n", "is not a field name"),
            ("series_retention_minutes: -1\nagents:\n  - id: a\n    name: A\n", "must be from 0"),
        ] {
            let error = ConfigurationTests().failure(yaml)
            #expect(error?.description.contains(message) == true, "\(yaml): \(String(describing: error))")
            #expect(error?.line ?? 0 >= 1)
        }
    }

    @Test func tokensCompareEqualOnlyWhenEqual() {
        #expect(constantTimeEquals("s3cret", "s3cret"))
        #expect(!constantTimeEquals("s3cret", "s3creT"))
        #expect(!constantTimeEquals("s3cret", "s3cret "))
        #expect(!constantTimeEquals("", "s3cret"))
    }
}
