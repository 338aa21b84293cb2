import AgentHeartbeat
import AgentHeartbeatCore
import Foundation
import Testing

/// The real `agent-heartbeat` binary, started as a user or the scheduled workflow would.
@Suite("agent-heartbeat processes", .serialized)
struct ProcessTests {
    @Test func runWritesAMapThatValidatesAgainstTheShippedSchema() async throws {
        var configuration = TestRedis.configuration(
            agents: ["mary", "lisa", "never"],
            threshold: .seconds(20),
            interval: .seconds(1)
        )
        // Silence counts only while the sidecar listens (see ListeningGaps): lisa, silent for a
        // minute already, is offline 2 s after it subscribed; never stays unknown for 10 minutes.
        configuration.agents[1].offlineThreshold = .seconds(2)
        configuration.agents[2].offlineThreshold = .seconds(600)
        // Every member the map may hold, for the validator: a failing agent, one whose trouble it
        // causes, a silenced one, a group below its quorum.
        configuration.dependencies = ["lisa": ["mary"]]
        configuration.groups = [AgentGroup(id: "team", name: "Team", members: ["mary", "lisa"], minOnline: 2)]
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let silence = Silence(id: "s1", target: "never", until: .max / 2, reason: "not yet deployed", createdAt: 0)
            try await redis.store(silence, for: configuration)
            let sidecar = try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)")
            try await redis.waitForSubscribers(configuration.agents[0].channel)
            try await redis.publish(
                configuration.agents[0].channel,
                #"{"status":"error","signals_sent":42,"note":"<b>&"}"#
            )
            try await storeHeartbeat(redis, configuration, "lisa", age: .seconds(60), payload: "[1]")
            try await eventually("map with mary online and lisa offline") {
                sidecar.status(of: "mary") == "online" && sidecar.status(of: "lisa") == "offline"
            }
            let agents = try #require(sidecar.map()?["agents"] as? [String: [String: Any]])
            #expect(agents["mary"]?["condition"] as? String == "failing")
            #expect(agents["mary"]?["failing_heartbeats"] as? Int == 1)
            #expect(agents["lisa"]?["suppressed_by"] as? String == "mary")
            #expect(agents["never"]?["silence_reason"] as? String == "not yet deployed")
            let team = (sidecar.map()?["groups"] as? [String: [String: Any]])?["team"]
            #expect(team?["status"] as? String == "below_quorum" && team?["online"] as? Int == 0)

            let schema = sidecar.folder.appendingPathComponent("schema.json")
            try StatusMap.schema.write(to: schema, atomically: true, encoding: .utf8)
            let valid = try await runValidator(schema: schema.path, document: sidecar.mapPath)
            #expect(valid.status == 0, "\(valid.output)")

            // The validator is real: a map without its summary is refused.
            var broken = try #require(sidecar.map())
            broken["summary"] = nil
            let brokenPath = sidecar.folder.appendingPathComponent("broken.json")
            try JSONSerialization.data(withJSONObject: broken).write(to: brokenPath)
            #expect(try await runValidator(schema: schema.path, document: brokenPath.path).status != 0)

            // Without Telegram settings: one warning, and the map still lists the offline agent.
            let alerts = try #require(sidecar.map()?["alerts"] as? [[String: Any]])
            #expect(alerts.map { $0["agent_id"] as? String } == ["lisa"])
            #expect(alerts.first?["last_notified"] is NSNull)
            #expect(
                sidecar.output.components(separatedBy: "TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID is not set").count == 2
            )

            sidecar.signal(SIGTERM)
            #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
        }
    }

    @Test func sigtermStopsWithinFiveSecondsAndLeavesAFinalMap() async throws {
        // A long interval: only the final map can show the heartbeat sent after the first check.
        let configuration = TestRedis.configuration(agents: ["mary"], threshold: .seconds(60), interval: .seconds(3600))
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let sidecar = try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)")
            try await eventually("first map") { sidecar.status(of: "mary") == "unknown" }
            try await redis.waitForSubscribers(configuration.agents[0].channel)
            try await redis.publish(configuration.agents[0].channel, #"{"status":"ok"}"#)
            try await eventually("heartbeat mirrored") { try await redis.heartbeat(configuration, "mary") != nil }

            sidecar.signal(SIGTERM)
            #expect(try await sidecar.exitStatus(within: .seconds(5)) == 0)
            #expect(sidecar.status(of: "mary") == "online")
        }
    }

    @Test func checkOnceSeesHeartbeatsSentWhileListening() async throws {
        let configuration = TestRedis.configuration(agents: ["mary", "lisa"], threshold: .seconds(60))
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let check = try SidecarProcess(
                ["check", "--once", "--listen", "2"],
                folder: SidecarProcess.folder(config: configuration.yaml),
                redisURL: "\(TestRedis.url)"
            )
            try await redis.waitForSubscribers(configuration.agents[0].channel)
            try await redis.publish(configuration.agents[0].channel, #"{"status":"ok"}"#)

            #expect(try await check.exitStatus(within: .seconds(15)) == 0)
            #expect(check.output.contains("2 agents: 1 online, 0 offline, 1 unknown"), "\(check.output)")
            #expect(check.status(of: "mary") == "online")
            #expect(check.status(of: "lisa") == "unknown")
        }
    }

    /// `beat` publishes as the agent would: SPUBLISH on a shard channel.
    @Test func beatUsesShardedPubSubOnAShardChannel() async throws {
        let configuration = {
            var configuration = TestRedis.configuration(agents: ["paula"])
            configuration.agents[0].channel = "\(configuration.keyTag):heartbeat:paula"
            return configuration
        }()
        try await withMirror(configuration, subscribed: false) { mirror, redis in
            try await eventually("subscribed") { mirror.statistics.snapshot.isSubscribed }
            let beat = try SidecarProcess(
                ["beat", "paula", "--status", "sharded"],
                folder: SidecarProcess.folder(config: configuration.yaml),
                redisURL: "\(try TestRedis.url)"
            )
            #expect(try await beat.exitStatus(within: .seconds(15)) == 0)
            #expect(beat.output.contains("(1 subscriber)"), "\(beat.output)")
            try await eventually("mirrored") {
                try await redis.heartbeat(configuration, "paula")?.payloadText?.contains(#""status":"sharded""#) == true
            }
        }
    }

    @Test func checkOnceExitsOneWhenRedisIsUnreachable() async throws {
        let port = try freeLoopbackPort()
        let check = try SidecarProcess(
            ["check", "--once"],
            folder: SidecarProcess.folder(config: TestRedis.configuration(agents: ["mary"]).yaml),
            redisURL: "redis://:hunter2@127.0.0.1:\(port)"
        )
        #expect(try await check.exitStatus(within: .seconds(20)) == 1)
        #expect(check.output.contains("not reachable within 10 s"), "\(check.output)")
        #expect(!check.output.contains("hunter2"))
    }

    @Test func invalidConfigurationExitsTwoNamingLineAndKey() async throws {
        let folder = try SidecarProcess.folder(config: "agents:\n  - id: mary\n    name: Mary\n    treshold: 5\n")
        let run = try SidecarProcess(["run"], folder: folder, redisURL: "\(TestRedis.url)")
        #expect(try await run.exitStatus(within: .seconds(10)) == 2)
        #expect(run.output.contains("./agents.yaml:4:5: agents[0].treshold: unknown key \"treshold\""), "\(run.output)")

        let validate = try SidecarProcess(["validate", "agents.yaml"], folder: folder, redisURL: nil)
        #expect(try await validate.exitStatus(within: .seconds(10)) == 2)
        #expect(validate.output.contains("agents.yaml:4:5"))
    }

    @Test func malformedRedisURLExitsTwoWithoutThePassword() async throws {
        let folder = try SidecarProcess.folder(config: TestRedis.configuration(agents: ["mary"]).yaml)
        let run = try SidecarProcess(["run"], folder: folder, redisURL: "redis://bob:hunter2@host:port")
        #expect(try await run.exitStatus(within: .seconds(10)) == 2)
        #expect(run.output.contains("LUKA_REDIS_URL: invalid Redis URL"), "\(run.output)")
        #expect(!run.output.contains("hunter2"))
    }

    @Test func passwordIsUsedAndNeverPrinted() async throws {
        let server = try await RedisServer.start(["--requirepass", "s3cr3t-pa55"])
        let configuration = TestRedis.configuration(agents: ["mary"], interval: .seconds(1))
        let folder = try SidecarProcess.folder(config: configuration.yaml)
        let good = try SidecarProcess(
            ["run", "--log-level", "trace"],
            folder: folder,
            redisURL: "redis://:s3cr3t-pa55@127.0.0.1:\(server.port)"
        )
        try await eventually("map written through an authenticated connection") { good.status(of: "mary") == "unknown" }
        good.signal(SIGTERM)
        #expect(try await good.exitStatus(within: .seconds(5)) == 0)

        let wrong = try SidecarProcess(
            ["check", "--once"],
            folder: folder,
            redisURL: "redis://:wr0ng-pa55@127.0.0.1:\(server.port)"
        )
        #expect(try await wrong.exitStatus(within: .seconds(20)) == 1)
        #expect(wrong.output.contains("authentication"), "\(wrong.output)")
        for output in [good.output, wrong.output] {
            #expect(!output.contains("s3cr3t-pa55") && !output.contains("wr0ng-pa55"))
        }
    }

    @Test func recoversWhenRedisIsKilledAndRestarted() async throws {
        try await withRedisServer { server in
            let configuration = TestRedis.configuration(agents: ["mary"], interval: .seconds(1))
            let client = RedisClient(url: server.url, name: "test-client")
            try await withClosing(client) { redis in
                let sidecar = try SidecarProcess.running(configuration, redisURL: "\(server.url)")
                try await redis.waitForSubscribers(configuration.agents[0].channel)
                try await redis.publish(configuration.agents[0].channel, #"{"status":"before"}"#)
                try await eventually("mirrored before the crash") {
                    try await redis.heartbeat(configuration, "mary") != nil
                }

                await server.stop()
                try await server.restart()
                try await eventually("resubscribed after the restart") {
                    // The restarted server is empty; publishing again proves the subscription is back.
                    try? await redis.publish(configuration.agents[0].channel, #"{"status":"after"}"#)
                    return await (try? redis.heartbeat(configuration, "mary")?.payloadText) == #"{"status":"after"}"#
                }
                try await eventually("map shows the agent again") { sidecar.status(of: "mary") == "online" }
                #expect(sidecar.isRunning)
                #expect(
                    sidecar.output.components(separatedBy: "subscriber lost its subscriptions").count == 2,
                    "logged once: \(sidecar.output)"
                )
                #expect(sidecar.output.contains("subscriber resubscribed to every channel"))
            }
        }
    }

    /// The first check waits for the subscriptions: it used to run before them, so every start
    /// logged an error and the first map said "degraded" for a whole interval.
    @Test func aFreshStartIsNotDegraded() async throws {
        let configuration = TestRedis.configuration(agents: ["mary"], interval: .seconds(3600))
        let sidecar = try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)")
        try await eventually("first map") { sidecar.map() != nil }
        #expect(sidecar.map()?["degraded"] == nil, "\(sidecar.map() ?? [:])")
        #expect(await sidecar.get("/readyz")?.status == 200)
        sidecar.signal(SIGTERM)
        #expect(try await sidecar.exitStatus(within: .seconds(10)) == 0)
        #expect(!sidecar.output.contains("degraded"), "\(sidecar.output)")
    }

    @Test func twoReplicasAgree() async throws {
        var configuration = TestRedis.configuration(
            agents: ["fresh", "silent", "never"],
            threshold: .seconds(60),
            interval: .seconds(1)
        )
        configuration.agents[1].offlineThreshold = .seconds(2)  // offline 2 s after the replicas listen
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let replicas = try (0..<2).map { _ in
                try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)")
            }
            try await redis.waitForSubscribers(configuration.agents[0].channel, count: 2)
            try await redis.publish(configuration.agents[0].channel, #"{"status":"ok"}"#)
            try await storeHeartbeat(redis, configuration, "silent", age: .seconds(120))
            let expected = ["fresh": "online", "silent": "offline", "never": "unknown"]
            for replica in replicas {
                try await eventually("replica sees every status") {
                    expected.allSatisfy { replica.status(of: $0.key) == $0.value }
                }
            }
            // Same keys, same server clock: the same verdicts and ages.
            func ages(_ replica: SidecarProcess) -> [String: Int] {
                let agents = replica.map()?["agents"] as? [String: [String: Any]] ?? [:]
                return agents.compactMapValues { ($0["seconds_since_heartbeat"] as? Int).map { $0 / 10 } }
            }
            #expect(ages(replicas[0]) == ages(replicas[1]))
            for replica in replicas {
                replica.signal(SIGTERM)
                #expect(try await replica.exitStatus(within: .seconds(5)) == 0)
            }
        }
    }
}

/// Runs check-jsonschema, a real JSON Schema validator (scripts/test.sh installs it), off the cooperative pool.
func runValidator(schema: String, document: String) async throws -> (status: Int32, output: String) {
    try await JobThread.run(named: "check-jsonschema") { try runValidatorBlocking(schema: schema, document: document) }
}

private func runValidatorBlocking(schema: String, document: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = try findExecutable("check-jsonschema")
    process.arguments = ["--schemafile", schema, document]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (waitForExit(process) ?? -1, output)
}
