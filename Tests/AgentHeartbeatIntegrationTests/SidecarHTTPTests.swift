import AgentHeartbeat
import AgentHeartbeatCore
import Foundation
import Testing

/// The sidecar's HTTP endpoints, dashboard and hot reload, against the real binary and Redis.
@Suite("Sidecar HTTP, dashboard and reload", .serialized)
struct SidecarHTTPTests {
    @Test func probesFollowRedisButHealthDoesNot() async throws {
        let server = try await RedisServer.start()
        let configuration = TestRedis.configuration(agents: ["mary"], interval: .seconds(1))
        let sidecar = try SidecarProcess.running(configuration, redisURL: "\(server.url)")
        try await eventually("ready") { await sidecar.get("/readyz")?.status == 200 }
        #expect(await sidecar.get("/healthz")?.status == 200)
        // The image's HEALTHCHECK: `probe` finds the sidecar through AGENT_HEARTBEAT_HTTP.
        let probe = try SidecarProcess(
            ["probe"],
            folder: SidecarProcess.folder(config: ""),
            redisURL: nil,
            environment: ["AGENT_HEARTBEAT_HTTP": "127.0.0.1:\(sidecar.httpPort)"]
        )
        #expect(try await probe.exitStatus(within: .seconds(10)) == 0)
        let closed = try SidecarProcess(
            ["probe", "http://127.0.0.1:\(try freeLoopbackPort())/healthz"],
            folder: SidecarProcess.folder(config: ""),
            redisURL: nil
        )
        #expect(try await closed.exitStatus(within: .seconds(10)) == 1)

        await server.stop()
        try await eventually("not ready without Redis") { await sidecar.get("/readyz")?.status == 503 }
        let notReady = await sidecar.get("/readyz")
        #expect(notReady?.body.hasPrefix("not ready: ") == true, "\(String(describing: notReady))")
        #expect(await sidecar.get("/healthz")?.status == 200, "a Redis outage must not fail liveness")

        try await server.restart()
        try await eventually("ready again") { await sidecar.get("/readyz")?.status == 200 }
        sidecar.signal(SIGTERM)
        #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
    }

    @Test func metricsParseAndCountHeartbeats() async throws {
        let configuration = TestRedis.configuration(agents: ["mary", "lisa"], interval: .seconds(1))
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let sidecar = try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)")
            try await eventually("ready") { await sidecar.get("/readyz")?.status == 200 }
            let before = try await parsedMetrics(sidecar)
            #expect(
                before["agent_heartbeat_heartbeats_received_total{agent=\"mary\"}"] == 0,
                "per-agent series exist from the start"
            )
            #expect(before["agent_heartbeat_leader"] != nil)
            #expect(before["agent_heartbeat_config_reloads_total{result=\"failed\"}"] == 0)

            for _ in 0..<3 { try await redis.publish(configuration.agents[0].channel, #"{"status":"ok"}"#) }
            try await redis.publish(configuration.agents[1].channel, "not json")
            try await eventually("counters moved") {
                let metrics = try await parsedMetrics(sidecar)
                return metrics["agent_heartbeat_heartbeats_received_total{agent=\"mary\"}"] == 3
                    && metrics["agent_heartbeat_malformed_payloads_total{agent=\"lisa\"}"] == 1
                    && metrics["agent_heartbeat_agent_up{agent=\"mary\"}"] == 1
            }
            let metrics = try await parsedMetrics(sidecar)
            #expect((metrics["agent_heartbeat_check_duration_seconds_count"] ?? 0) >= 1)
            // Counted per receiver, and this replica has none.
            #expect(!metrics.keys.contains { $0.hasPrefix("agent_heartbeat_notifications_sent_total") })
            #expect(metrics["agent_heartbeat_redis_reconnects_total"] == 0)

            sidecar.signal(SIGTERM)
            #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
        }
    }

    @Test func apiStatusIsTheFile() async throws {
        let configuration = TestRedis.configuration(agents: ["mary"], interval: .seconds(3600))
        let sidecar = try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)")
        try await eventually("first map") { await sidecar.get("/api/status")?.status == 200 }
        let served = await sidecar.get("/api/status")?.body
        let file = try String(contentsOfFile: sidecar.mapPath, encoding: .utf8)
        #expect(served == file)
        sidecar.signal(SIGTERM)
        #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
    }

    @Test func reloadAddsAgentsAndKeepsTheOldConfigurationWhenBroken() async throws {
        let configuration = TestRedis.configuration(agents: ["mary"], interval: .seconds(1))
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let folder = try SidecarProcess.folder(config: configuration.yaml)
            let sidecar = try SidecarProcess(["run"], folder: folder, redisURL: "\(TestRedis.url)")
            try await eventually("first map") { sidecar.status(of: "mary") == "unknown" }

            // Add an agent: it appears in the map within a cycle and its heartbeats are mirrored.
            var grown = configuration
            grown.agents.append(
                .init(
                    id: "newcomer",
                    name: "Newcomer",
                    channel: "\(configuration.keyPrefix):heartbeat:newcomer",
                    offlineThreshold: .seconds(300)
                )
            )
            try replaceFile(folder.appendingPathComponent("agents.yaml"), with: grown.yaml)
            try await eventually("new agent in the map") { sidecar.status(of: "newcomer") == "unknown" }
            try await redis.waitForSubscribers(grown.agents[1].channel)
            try await redis.publish(grown.agents[1].channel, #"{"status":"ok"}"#)
            try await eventually("new agent mirrored and online") { sidecar.status(of: "newcomer") == "online" }

            // Break the file: the running configuration stays and the failure is counted.
            try replaceFile(folder.appendingPathComponent("agents.yaml"), with: grown.yaml + "  - id: Broken\n")
            try await eventually("failed reload counted") {
                try await parsedMetrics(sidecar)["agent_heartbeat_config_reloads_total{result=\"failed\"}"] == 1
            }
            #expect(sidecar.output.contains("configuration not reloaded"))
            #expect(sidecar.output.contains("agents.yaml:"), "the error names the file, line and column")
            try await Self.waitForNewMap(sidecar)
            #expect(sidecar.status(of: "newcomer") == "online")
            #expect(sidecar.status(of: "mary") == "unknown")

            // Remove an agent and reload with SIGHUP: dropped from the map.
            try replaceFile(folder.appendingPathComponent("agents.yaml"), with: configuration.yaml)
            sidecar.signal(SIGHUP)
            try await eventually("removed agent dropped") {
                sidecar.map() != nil && sidecar.status(of: "newcomer") == nil
            }
            #expect(try await parsedMetrics(sidecar)["agent_heartbeat_config_reloads_total{result=\"ok\"}"] ?? 0 >= 2)

            sidecar.signal(SIGTERM)
            #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
        }
    }

    @Test func jsonLogsAreOneObjectPerLine() async throws {
        let configuration = TestRedis.configuration(agents: ["mary"], interval: .seconds(1))
        let sidecar = try SidecarProcess(
            ["run", "--log-format", "json"],
            folder: SidecarProcess.folder(config: configuration.yaml),
            redisURL: "\(TestRedis.url)"
        )
        try await eventually("first map") { sidecar.map() != nil }
        sidecar.signal(SIGTERM)
        #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
        let lines = sidecar.output.split(separator: "\n")
        #expect(lines.count >= 2)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] is String && object?["message"] is String, "\(line)")
        }
    }

    static func waitForNewMap(_ sidecar: SidecarProcess) async throws {
        let stamp = sidecar.map()?["timestamp"] as? String
        try await eventually("a newer map") { (sidecar.map()?["timestamp"] as? String) != stamp }
    }
}

/// Replaces a file the way a ConfigMap update does: a new file renamed over the old one.
func replaceFile(_ url: URL, with text: String) throws {
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(UUID().uuidString)")
    try text.write(to: temporary, atomically: false, encoding: .utf8)
    _ = rename(temporary.path, url.path)
}

/// /metrics through prometheus-client's parser (a real one): `name{labels}` → value.
func parsedMetrics(_ sidecar: SidecarProcess) async throws -> [String: Double] {
    guard let response = await sidecar.get("/metrics"), response.status == 200 else {
        throw TestSetupError("/metrics did not answer")
    }
    let script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = {}
        for family in text_string_to_metric_families(sys.stdin.read()):
            for s in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                out[s.name + ("{" + labels + "}" if labels else "")] = s.value
        print(json.dumps(out))
        """
    let body = response.body
    let (status, data) = try await JobThread.run(named: "prometheus-parser") { () throws -> (Int32, Data) in
        let process = Process()
        process.executableURL = try findExecutable("python3")
        process.arguments = ["-c", script]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(body.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        return (waitForExit(process) ?? -1, data)
    }
    guard status == 0, let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Double] else {
        throw TestSetupError("/metrics is not valid Prometheus text: \(response.body)")
    }
    return parsed
}
