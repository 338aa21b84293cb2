import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Testing

extension WebTests {
    /// The dashboard in headless Chromium against a `run` sidecar and a real Redis: the list and agent
    /// views, agent text kept as text, silences from the page, and 10,000 agents. Screenshots are kept in
    /// `screenshots` for people to look at.
    @Suite("Dashboard in a browser", .serialized)
    struct DashboardProcessTests {
        static let screenshots = FileManager.default.temporaryDirectory.appendingPathComponent(
            "agent-heartbeat-screenshots"
        )

        static func screenshot(_ name: String, _ page: String, height: Int = 900) async throws -> URL {
            try FileManager.default.createDirectory(at: screenshots, withIntermediateDirectories: true)
            let file = screenshots.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: file)
            _ = try await runChromium(["--screenshot=\(file.path)", "--window-size=1200,\(height)", page])
            let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int ?? 0
            #expect(size > 10_000, "screenshot at \(file.path)")
            print("dashboard screenshot: \(file.path)")
            return file
        }

        /// `data-agent` → the row's state, from the list's rows.
        static func rows(in dom: String) -> [String: String] {
            var rows: [String: String] = [:]
            for match in dom.matches(of: #/class="row grid (\w+)"[^>]*data-agent="([^"]+)"/#) {
                rows[String(match.output.2)] = String(match.output.1)
            }
            return rows
        }

        @Test func listAndAgentViewsShowEveryStateAndKeepAgentTextAsText() async throws {
            var configuration = TestRedis.configuration(
                agents: ["online-agent", "offline-agent", "unknown-agent", "failing-agent"],
                interval: .seconds(1)
            )
            configuration.agents[0].name = "Online <b>Agent</b>"
            configuration.agents[1].offlineThreshold = .seconds(2)
            configuration.dependencies = ["offline-agent": ["failing-agent"]]
            configuration.groups = [
                AgentGroup(
                    id: "pool",
                    name: "Pool <i>",
                    members: ["online-agent", "offline-agent", "failing-agent"],
                    minOnline: 2
                )
            ]
            var rules = AgentRules()
            rules.metrics = ["response_time_ms"]
            configuration.rules = [rules]
            try await withTestRedis(removingKeysOf: configuration) { redis in
                try await storeHeartbeat(
                    redis,
                    configuration,
                    "online-agent",
                    age: .zero,
                    payload: #"{"status":"busy","note":"<img src=x onerror=alert(1)>","response_time_ms":42}"#
                )
                try await storeHeartbeat(redis, configuration, "offline-agent", age: .seconds(900))
                try await storeHeartbeat(
                    redis,
                    configuration,
                    "failing-agent",
                    age: .zero,
                    payload: #"{"status":"error"}"#
                )
                let silence = Silence(
                    id: "d1",
                    target: "unknown-agent",
                    until: .max,
                    reason: "deploy <x>",
                    createdAt: 0
                )
                try await redis.store(silence, for: configuration)
                // A day of history: online, offline for an hour, silenced for an hour, online again; and
                // 90 minutes of a metric.
                let now = try await redis.serverMilliseconds()
                let hour: Int64 = 3_600_000
                let history = configuration.historyKey(for: "online-agent")
                let changes: [(at: Int64, from: AgentHistoryState?, to: AgentHistoryState, reason: String)] = [
                    (now - 30 * hour, nil, .online, "heartbeat received"),
                    (now - 20 * hour, .online, .offline, "no heartbeat for more than 300s <script>"),
                    (now - 19 * hour, .offline, .online, "heartbeat received"),
                    (now - 8 * hour, .online, .silenced, "silenced: upgrade"),
                    (now - 7 * hour, .silenced, .online, "heartbeat received"),
                ]
                for (at, from, to, reason) in changes {
                    let entry = StateChange.entry(at: at, seen: at, from: from, to: to, reason: reason)
                    _ = try await redis.send("RPUSH", history, entry)
                }
                let minute = now / 60_000
                for offset in 0..<90 {
                    let value = 40 + offset % 7
                    let entry = "\(minute - 89 + Int64(offset))|response_time_ms=\(value),\(value - 1),\(value + 2)"
                    _ = try await redis.send("RPUSH", configuration.seriesKey(for: "online-agent"), entry)
                }
                let sidecar = try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)")
                try await eventually("the silent agent is offline") { sidecar.status(of: "offline-agent") == "offline" }

                let page = "http://127.0.0.1:\(sidecar.httpPort)/"
                let list = try await runChromium(["--dump-dom", page]).output
                #expect(
                    Self.rows(in: list) == [
                        "online-agent": "online", "offline-agent": "offline", "unknown-agent": "silenced",
                        "failing-agent": "failing",
                    ],
                    "\(list)"
                )
                for (state, count) in [("online", 1), ("offline", 1), ("failing", 1), ("silenced", 1), ("late", 0)] {
                    #expect(list.contains(#"data-state="\#(state)" aria-pressed="false"><b>\#(count)</b>"#), "\(state)")
                }
                #expect(list.contains(#"<tr class="below_quorum" data-group="pool">"#), "\(list)")
                #expect(list.contains("Pool &lt;i&gt;") && list.contains("1 of 3"))
                #expect(list.contains("deploy &lt;x&gt;"))
                #expect(list.contains("response_time_ms 42"))
                #expect(list.contains("Online &lt;b&gt;Agent&lt;/b&gt;") && !list.contains("<b>Agent"))
                #expect(list.contains("just now") && list.contains("15 min ago"), "human ages")
                #expect(list.contains(#"title="20"#), "exact times on hover")

                let detailPage = page + "#agent/online-agent"
                let agent = try await runChromium(["--dump-dom", detailPage]).output
                let day = try #require(
                    try await sidecar.json("/api/v1/agents/online-agent")["uptime"] as? [String: [String: Any]]
                )["24h"]
                #expect(day?["down_seconds"] as? Double == 3600)
                #expect(day?["silenced_seconds"] as? Double == 3600)
                // 22 hours up of 23 monitored.
                #expect(agent.contains(#"data-window="24h"><b>95.652 %</b>"#), "\(agent)")
                for state in ["online", "offline", "silenced"] {
                    #expect(agent.contains(#"data-state="\#(state)""#), "timeline segment \(state)")
                }
                let points = try #require(agent.firstMatch(of: #/<polyline points="([^"]+)"/#)).output.1
                #expect(points.split(separator: " ").count == 90)
                #expect(agent.contains("no heartbeat for more than 300s &lt;script&gt;"))
                #expect(
                    agent.components(separatedBy: "<script").count == 2 && !agent.contains("<img"),
                    "only the page's script"
                )
                #expect(agent.contains("&lt;img src=x onerror=alert(1)&gt;"), "the payload as text")

                _ = try await Self.screenshot("list.png", page)
                _ = try await Self.screenshot("agent.png", detailPage, height: 1100)
                sidecar.signal(SIGTERM)
                #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
            }
        }

        /// Silences made and removed from the page, as a person would: the form with a wrong token, then
        /// the right one, then the Remove button (Chromium driven over the DevTools protocol).
        @Test func silencesAreAddedAndRemovedFromThePageWithTheToken() async throws {
            let configuration = TestRedis.configuration(agents: ["mary"], interval: .seconds(1))
            try await withTestRedis(removingKeysOf: configuration) { redis in
                let token = "page-SECRET-token"
                let sidecar = try SidecarProcess.running(
                    configuration,
                    redisURL: "\(TestRedis.url)",
                    environment: ["AGENT_HEARTBEAT_API_TOKEN": token]
                )
                try await eventually("a first check") { (try? await sidecar.json("/api/v1/agents")) != nil }
                let wait = "for (let i = 0; i < 200 && !(CONDITION); i++) await new Promise(r => setTimeout(r, 25));"
                func submit(_ token: String) -> String {
                    """
                    document.getElementById("silence-message").textContent = "";
                    document.getElementById("token").value = "\(token)";
                    document.getElementById("silence-target").value = "mary";
                    document.getElementById("silence-reason").value = "deploy <b>x</b>";
                    document.getElementById("silence-form").requestSubmit();
                    """
                }
                let results = try await driveChromium(
                    "http://127.0.0.1:\(sidecar.httpPort)/",
                    scripts: [
                        submit("wrong")
                            + wait.replacingOccurrences(
                                of: "CONDITION",
                                with: "document.getElementById('silence-message').textContent"
                            )
                            + "return document.getElementById('silence-message').textContent;",
                        submit(token)
                            + wait.replacingOccurrences(
                                of: "CONDITION",
                                with: "document.querySelector('[data-silence]')"
                            )
                            + "return document.querySelector('[data-silence]').textContent;",
                        "document.querySelector('[data-silence] button').click();"
                            + wait.replacingOccurrences(
                                of: "CONDITION",
                                with: "!document.querySelector('[data-silence]')"
                            )
                            + "return document.querySelectorAll('[data-silence]').length;",
                    ]
                )
                #expect(results.count == 3)
                #expect(results.first as? String == "the bearer token does not match AGENT_HEARTBEAT_API_TOKEN")
                #expect((results.dropFirst().first as? String)?.contains("deploy <b>x</b>") == true, "\(results)")
                #expect(results.last as? Int == 0)
                let (_, silences) = try await SilenceStore(client: redis, configuration: configuration).list()
                #expect(silences.isEmpty, "removed in Redis too")
                sidecar.signal(SIGTERM)
                #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
                #expect(!sidecar.output.contains(token))
            }
        }

        /// The first paint's time is measured by `Benchmarks/run.sh --only 9`: timing is no test's business.
        @Test(.enabled(if: WebTests.unsanitized)) func tenThousandAgentsAreAVirtualisedList() async throws {
            let ids = (0..<10_000).map { String(format: "agent-%05d", $0) }
            let configuration = TestRedis.configuration(agents: ids, interval: .seconds(3600))
            try await withTestRedis(removingKeysOf: configuration) { redis in
                let now = try await redis.serverMilliseconds()
                let commands = ids.enumerated().compactMap { index, id -> RedisCommand? in
                    // Nine in ten heard from, at ages from seconds to an hour.
                    index % 10 == 9
                        ? nil
                        : .storeHeartbeat(
                            configuration.heartbeatKey(for: id),
                            payload: #"{"status":"ok"}"#,
                            at: now - Int64(index % 3600) * 1000
                        )
                }
                _ = try await redis.withConnection { connection throws(RedisError) in try connection.pipeline(commands)
                }
                let sidecar = try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)")
                try await eventually("a first check") { (try? await sidecar.json("/api/v1/agents?limit=1")) != nil }

                let page = "http://127.0.0.1:\(sidecar.httpPort)/"
                // Only the rows in sight exist.
                let dom = try await runChromium(["--dump-dom", "--window-size=1200,900", page]).output
                let rows = Self.rows(in: dom)
                #expect(rows.count > 10 && rows.count < 100, "\(rows.count) rows in the DOM")
                #expect(dom.contains("showing 10000 of 10000"))
                _ = try await Self.screenshot("list-10000.png", page)
                sidecar.signal(SIGTERM)
                #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
            }
        }
    }
}
