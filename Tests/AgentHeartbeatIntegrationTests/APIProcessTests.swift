import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Testing

extension WebTests {
    /// `/api/v1`, history and series against `run` replicas and a real Redis (issue 13).
    @Suite("HTTP API and history across replicas", .serialized)
    struct APIProcessTests {
        static let token = "api-SECRET-token"

        /// The `to` of each change in an agent's history, oldest first.
        static func recorded(
            _ redis: RedisClient,
            _ configuration: MonitorConfiguration,
            _ id: String
        ) async throws
            -> [String]
        {
            let reply = try await redis.send("LRANGE", configuration.historyKey(for: id), "0", "-1")
            return (reply.array ?? []).compactMap { $0.text.flatMap(StateChange.init(entry:))?.to.rawValue }
        }

        @Test func historyIsRecordedOnceByThreeReplicasAndSurvivesTheLeadersDeath() async throws {
            let api = try FakeReceiver()
            let configuration = AlertingProcessTests.configuration(["mary", "bob"], cooldown: .seconds(3600))
            let redis = try TestRedis.client()
            var (replicas, beating) = try await AlertingProcessTests.threeReplicas(
                configuration,
                api,
                redis,
                online: "mary"
            )

            beating.cancel()
            beating = AlertingProcessTests.beat(redis, [configuration.agents[1]])
            try await eventually("mary's outage recorded") {
                try await Self.recorded(redis, configuration, "mary").last == "offline"
            }
            let leader = try #require(replicas.first { $0.output.contains("became the leader") })
            leader.signal(SIGKILL)
            _ = try await leader.exitStatus(within: .seconds(5))
            let others = replicas.filter { $0 !== leader }

            beating.cancel()
            beating = AlertingProcessTests.beat(redis, configuration.agents)
            try await eventually("mary's recovery recorded") {
                try await Self.recorded(redis, configuration, "mary").last == "online"
            }
            try await AlertingProcessTests.waitCycles(others)
            beating.cancel()

            // Before the first heartbeat an agent may be unknown; after it, one entry per change.
            let mary = try await Self.recorded(redis, configuration, "mary").drop { $0 == "unknown" }
            #expect(Array(mary) == ["online", "offline", "online"], "\(mary)")
            let bob = try await Self.recorded(redis, configuration, "bob").drop { $0 == "unknown" }
            #expect(Array(bob) == ["online"], "\(bob)")

            // The API of a surviving replica tells the same story, newest first, with uptime.
            let detail = try await others[0].json("/api/v1/agents/mary")
            let history = try #require(detail["history"] as? [[String: Any]])
            #expect(history.prefix(2).map { $0["to"] as? String } == ["online", "offline"])
            #expect(history[1]["from"] as? String == "online")
            #expect((history[1]["reason"] as? String)?.contains("offline threshold") == true)
            let day = try #require((detail["uptime"] as? [String: Any])?["24h"] as? [String: Any])
            let down = try #require(day["down_seconds"] as? Double)
            #expect(down > 0)
            #expect((day["ratio"] as? Double).map { $0 > 0 && $0 < 1 } == true)
            try await AlertingProcessTests.finish(replicas, redis, configuration)
        }

        @Test func pushedAndPublishedHeartbeatsAreIndistinguishableAndWritesNeedTheToken() async throws {
            var configuration = TestRedis.configuration(
                agents: ["pub", "push"],
                threshold: .seconds(30),
                interval: .seconds(1)
            )
            var rules = AgentRules()
            rules.metrics = ["response_time_ms"]
            configuration.rules = [rules]
            let redis = try TestRedis.client()
            let sidecar = try SidecarProcess.running(
                configuration,
                redisURL: "\(TestRedis.url)",
                environment: ["AGENT_HEARTBEAT_API_TOKEN": Self.token]
            )
            let closed = try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)")
            try await redis.waitForSubscribers(configuration.agents[1].channel, count: 2)
            // Subscribed is not listening on HTTP yet (a refused connection once, under TSan).
            for replica in [sidecar, closed] {
                try await eventually("the API listens") { await replica.get("/healthz") != nil }
            }

            let payload = #"{"status":"ok","response_time_ms":12.5,"note":"<b>hi</b>"}"#
            for value in [30, 12.5] {
                let body = payload.replacingOccurrences(of: "12.5", with: "\(value)")
                try await redis.publish(configuration.agents[0].channel, body)
                let pushed = try await sidecar.request(
                    "POST",
                    "/api/v1/heartbeats/push",
                    body: Array(body.utf8),
                    token: Self.token
                )
                #expect(pushed.status == 202, "\(pushed)")
                // Each stored before the next: the mirror keeps only an agent's latest pending one.
                try await eventually("both stored") {
                    var stored = true
                    for agent in ["pub", "push"] {
                        let record = try await redis.send("GET", configuration.heartbeatKey(for: agent)).text ?? ""
                        stored = stored && record.contains(#""response_time_ms":\#(value)"#)
                    }
                    return stored
                }
            }
            try await eventually("both online in the map") {
                sidecar.status(of: "pub") == "online" && sidecar.status(of: "push") == "online"
            }
            // Same record in Redis but for the time; same entry in the map but for the id and times.
            func record(_ id: String) async throws -> [String: Any] {
                let text = try await redis.send("GET", configuration.heartbeatKey(for: id)).text ?? ""
                var object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
                object["received_at_ms"] = nil
                object["beats"] = (object["beats"] as? String).map {
                    $0.split(separator: ":").dropFirst(3).joined(separator: ":")
                }
                return object
            }
            #expect(
                NSDictionary(dictionary: try await record("pub")) == NSDictionary(dictionary: try await record("push"))
            )
            func entry(_ id: String) -> NSDictionary {
                var entry =
                    ((sidecar.map()?["agents"] as? [[String: Any]]) ?? []).first { $0["id"] as? String == id } ?? [:]
                for key in ["id", "name", "last_heartbeat", "seconds_since_heartbeat", "expected_interval_seconds"] {
                    entry[key] = nil
                }
                return NSDictionary(dictionary: entry)
            }
            #expect(entry("pub") == entry("push"), "\(entry("pub")) \(entry("push"))")

            // Declared metrics: a gauge per agent on /metrics, and a series with the interval.
            try await eventually("the metric on /metrics") {
                let metrics = try await parsedMetrics(sidecar)
                return metrics[#"agent_heartbeat_agent_metric{agent="push",metric="response_time_ms"}"#] == 12.5
            }
            let detail = try await sidecar.json("/api/v1/agents/pub")
            let series = try #require(detail["series"] as? [String: [[String: Any]]])
            let points = try #require(series["response_time_ms"])
            #expect(points.compactMap { $0["min"] as? Double }.min() == 12.5)
            #expect(points.compactMap { $0["max"] as? Double }.max() == 30)
            #expect(points.last?["last"] as? Double == 12.5)
            #expect(series[AgentRules.intervalMetric]?.isEmpty == false)

            // Writes: the token, in constant time; errors are problem documents.
            let body = Array(#"{"status":"ok"}"#.utf8)
            let problems: [(status: Int, response: (status: Int, body: String, contentType: String))] = [
                (401, try await sidecar.request("POST", "/api/v1/heartbeats/push", body: body)),
                (401, try await sidecar.request("POST", "/api/v1/heartbeats/push", body: body, token: "wrong")),
                (404, try await sidecar.request("POST", "/api/v1/heartbeats/nobody", body: body, token: Self.token)),
                (
                    422,
                    try await sidecar.request(
                        "POST",
                        "/api/v1/heartbeats/push",
                        body: Array("[1]".utf8),
                        token: Self.token
                    )
                ),
                (
                    413,
                    try await sidecar.request(
                        "POST",
                        "/api/v1/heartbeats/push",
                        body: Array(#"{"a":""#.utf8) + Array(repeating: 0x61, count: 65_536) + Array(#""}"#.utf8),
                        token: Self.token
                    )
                ),
                (403, try await closed.request("POST", "/api/v1/heartbeats/push", body: body, token: Self.token)),
                (405, try await sidecar.request("PUT", "/api/v1/agents")),
            ]
            for (status, response) in problems {
                #expect(response.status == status, "\(response)")
                #expect(response.contentType == "application/problem+json", "\(response)")
                let problem = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any] ?? [:]
                #expect(problem["status"] as? Int == status)
                #expect((problem["detail"] as? String)?.isEmpty == false)
            }
            #expect(problems[5].response.body.contains("AGENT_HEARTBEAT_API_TOKEN"))

            // Silences: created with the token, shown in the list and the agent, removed once.
            let created = try await sidecar.request(
                "POST",
                "/api/v1/silences",
                body: Array(#"{"target":"pub","duration_seconds":600,"reason":"deploy <b>"}"#.utf8),
                token: Self.token
            )
            #expect(created.status == 201, "\(created)")
            let silence = try JSONSerialization.jsonObject(with: Data(created.body.utf8)) as? [String: Any] ?? [:]
            let id = try #require(silence["id"] as? String)
            try await eventually("the agent is silenced") {
                let list = try await sidecar.json("/api/v1/agents?status=silenced")
                return (list["agents"] as? [[String: Any]])?.map { $0["id"] as? String } == ["pub"]
            }
            #expect(try await sidecar.request("DELETE", "/api/v1/silences/\(id)").status == 401)
            #expect(try await sidecar.request("DELETE", "/api/v1/silences/\(id)", token: Self.token).status == 204)
            #expect(try await sidecar.request("DELETE", "/api/v1/silences/\(id)", token: Self.token).status == 404)

            for process in [sidecar, closed] {
                process.signal(SIGTERM)
                #expect(try await process.exitStatus(within: .seconds(5)) == 0)
                #expect(!process.output.contains(Self.token), "the API token leaked")
            }
            try await redis.removeKeys(of: configuration)
            await redis.close()
        }

        /// schemathesis (PyPI) against the live server and the committed document: no 5xx, every
        /// response as documented, writes refused without the token.
        @Test(.enabled(if: WebTests.unsanitized)) func theLiveServerConformsToItsOpenAPIDocument() async throws {
            let configuration = TestRedis.configuration(
                agents: ["mary", "bob"],
                threshold: .seconds(30),
                interval: .seconds(1)
            )
            let redis = try TestRedis.client()
            let sidecar = try SidecarProcess.running(
                configuration,
                redisURL: "\(TestRedis.url)",
                environment: ["AGENT_HEARTBEAT_API_TOKEN": Self.token]
            )
            try await redis.waitForSubscribers(configuration.agents[1].channel)
            try await redis.publish(configuration.agents[0].channel, #"{"status":"ok"}"#)
            try await eventually("a first check") { sidecar.status(of: "mary") == "online" }

            let schemathesis = Process()
            schemathesis.executableURL = try findExecutable("st")
            schemathesis.arguments = [
                "run", "http://127.0.0.1:\(sidecar.httpPort)/api/v1/openapi.json", "--checks", "all",
                "-H", "Authorization: Bearer \(Self.token)", "--max-examples", "30", "--workers", "1", "--seed", "13",
            ]
            // Its cache folder goes there, not into the checkout.
            schemathesis.currentDirectoryURL = sidecar.folder
            let output = Pipe()
            schemathesis.standardOutput = output
            schemathesis.standardError = output
            try schemathesis.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let status = waitForExit(schemathesis, timeout: .seconds(300))
            print(text.split(separator: "\n").suffix(12).joined(separator: "\n"))
            #expect(status == 0, "\(text)")
            #expect(text.contains("passed"))
            #expect(!sidecar.output.contains(Self.token))

            sidecar.signal(SIGTERM)
            #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
            try await redis.removeKeys(of: configuration)
            await redis.close()
        }
    }
}
