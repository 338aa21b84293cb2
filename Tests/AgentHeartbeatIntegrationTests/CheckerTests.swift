import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import AgentHeartbeatTestSupport
import Foundation
import Testing

/// Writes an agent's key as the mirror would, `age` before the server's now (a direct writer).
func storeHeartbeat(
    _ redis: RedisClient,
    _ configuration: MonitorConfiguration,
    _ id: String,
    age: Duration,
    payload: String = #"{"status":"ok"}"#
) async throws {
    let now = try await redis.serverMilliseconds()
    _ = try await redis.send(
        .storeHeartbeat(configuration.heartbeatKey(for: id), payload: payload, at: now - age.wholeMilliseconds)
    )
}

extension RedisCommand {
    /// The mirror's write, with the time given.
    static func storeHeartbeat(
        _ key: String,
        ttl: Duration = .seconds(600),
        payload: String,
        at time: Int64,
        configuration: MonitorConfiguration = MonitorConfiguration()
    ) -> RedisCommand {
        let bytes = Array(payload.utf8)
        let problem = HeartbeatPayload.problem(with: bytes)
        let fields = HeartbeatRecord.storedFields(payload: bytes, problem: problem)
        let facts = bytes.withUnsafeBufferPointer {
            HeartbeatFacts(payload: $0, usable: problem == nil, isFailing: configuration.isFailing(status:))
        }
        let keep = configuration.rules.map(\.maxRestarts).max()! + 1
        let horizon = configuration.rules.map(\.restartWindow.wholeMilliseconds).max()!
        return RedisCommand(
            "EVAL",
            [RedisScript.mirrorHeartbeat.source, "1", key, String(ttl.wholeSeconds)].map { Array($0.utf8) } + [
                fields, Array(String(time).utf8), Array((facts.failing ? "1" : "0").utf8),
                HeartbeatFacts.hex(facts.payloadHash), facts.instanceHash.map(HeartbeatFacts.hex) ?? [],
                Array(String(keep).utf8), Array(String(horizon).utf8),
            ]
        )
    }
}

/// Stores heartbeats for the configuration's agents as the mirror would, by their place in it:
/// every fifth never seen, every third of the others silent for two minutes, the rest heard a second
/// ago; the payload `{"status":"ok","n":<place>}`.
func storeMixedHeartbeats(_ redis: RedisClient, _ configuration: MonitorConfiguration) async throws {
    let now = try await redis.serverMilliseconds()
    let commands = configuration.agents.enumerated().compactMap { index, agent -> RedisCommand? in
        guard index % 5 != 0 else { return nil }
        let age: Int64 = index % 3 == 0 ? 120_000 : 1_000
        return .storeHeartbeat(
            configuration.heartbeatKey(for: agent.id),
            payload: #"{"status":"ok","n":\#(index)}"#,
            at: now - age
        )
    }
    _ = try await redis.withConnection { connection throws(RedisError) in try connection.pipeline(commands) }
}

@Suite("Checker")
struct CheckerTests {
    @Test func onlineOfflineUnknownAsTimePasses() async throws {
        // 4 s: a heartbeat stored just before the first check must still be fresh on a machine
        // busy with other tests under a sanitizer (2 s was not, once).
        var configuration = TestRedis.configuration(agents: ["fresh", "silent", "never"], threshold: .seconds(4))
        // Never heard from: unknown for one threshold after the first check, so give it a long one.
        configuration.agents[2].offlineThreshold = .seconds(60)
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let checker = HeartbeatChecker(client: redis, configuration: configuration)
            try await storeHeartbeat(redis, configuration, "fresh", age: .zero)
            try await storeHeartbeat(redis, configuration, "silent", age: .zero)

            let first = try await checker.check()
            #expect(first.states.map(\.status) == [.online, .online, .unknown])
            #expect(
                first.statusMap.summary.original
                    == .init(totalAgents: 3, onlineAgents: 2, offlineAgents: 0, unknownAgents: 1)
            )

            // Keep one agent beating while the other goes silent past its 4 s threshold.
            try await eventually("silent agent offline") {
                try await storeHeartbeat(redis, configuration, "fresh", age: .zero)
                return try await checker.check().states[1].status == .offline
            }
            let later = try await checker.check()
            #expect(later.states.map(\.status) == [.online, .offline, .unknown])
            #expect((later.states[1].secondsSinceHeartbeat ?? 0) >= 4)
            #expect(try StatusMapDocument(json: later.statusMap.render()).alerts.map(\.agentID) == ["silent"])
        }
    }

    /// Silences are read in the check's first round trip; when they cannot be, the check fails
    /// rather than alert what people silenced, and the next check with readable silences applies them.
    @Test func silencesApplyAndAnUnreadableHashFailsTheCheck() async throws {
        let configuration = TestRedis.configuration(agents: ["mary", "lisa"], threshold: .seconds(60))
        try await withTestRedis(removingKeysOf: configuration) { redis in
            _ = try await redis.send("DEL", configuration.silencesKey)
            let checker = HeartbeatChecker(client: redis, configuration: configuration)
            _ = try await redis.send("SET", configuration.silencesKey, "not a hash")
            await #expect(throws: RedisError.self) { try await checker.check() }
            _ = try await redis.send("DEL", configuration.silencesKey)
            let store = SilenceStore(client: redis, configuration: configuration)
            let silence = try await store.add(target: "lisa", duration: .seconds(60), reason: "deploy")
            let result = try await checker.check()
            #expect(result.assessment.silenced == [1: Assessment.Silencing(until: silence.until, reason: "deploy")])
            #expect(try await store.list().silences == [silence])
            #expect(try await store.remove(id: silence.id))
            #expect(try await checker.check().assessment.silenced.isEmpty)
            _ = try await redis.send("DEL", configuration.silencesKey)
        }
    }

    /// Finding 3 (issue 9): an agent with no key is marked missing by the first check, and is
    /// offline one threshold later; the marker never replaces a heartbeat.
    @Test func anAgentWithoutAKeyIsMarkedAndTurnsOfflineAfterOneThreshold() async throws {
        let configuration = TestRedis.configuration(agents: ["never", "beating"], threshold: .seconds(1))
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let checker = HeartbeatChecker(client: redis, configuration: configuration)
            let first = try await checker.check()
            #expect(first.states.map(\.status) == [.unknown, .unknown])
            let marker = try await redis.send("GET", configuration.heartbeatKey(for: "never")).bytes ?? []
            #expect(HeartbeatRecord.missingSince(stored: marker) == first.now)
            let ttl = try await redis.send("TTL", configuration.heartbeatKey(for: "never")).integer ?? -1
            #expect(ttl > 0)
            try await eventually("offline one threshold after monitoring began") {
                try await storeHeartbeat(redis, configuration, "beating", age: .zero)
                let states = try await checker.check().states
                return states[0].status == .offline && states[1].status == .online
            }
            let later = try await checker.check()
            #expect(later.states[0].missingSince == first.now && later.states[0].lastHeartbeat == nil)
            #expect(
                try StatusMapDocument(json: later.statusMap.render()).alerts.first?.message.contains(
                    "since monitoring began at"
                ) == true
            )
        }
    }

    @Test func agesAroundTheThresholdAreMeasuredOnTheServerClock() async throws {
        let configuration = TestRedis.configuration(agents: ["inside", "outside"], threshold: .seconds(60))
        try await withTestRedis(removingKeysOf: configuration) { redis in
            try await storeHeartbeat(redis, configuration, "inside", age: .seconds(50))
            try await storeHeartbeat(redis, configuration, "outside", age: .seconds(61))
            let result = try await HeartbeatChecker(client: redis, configuration: configuration).check()
            #expect(result.states.map(\.status) == [.online, .offline])
            // Stored relative to one TIME reading, checked a moment later: at most a few seconds more.
            #expect((50...53).contains(result.states[0].secondsSinceHeartbeat ?? 0))
            #expect((61...64).contains(result.states[1].secondsSinceHeartbeat ?? 0))
        }
    }

    @Test func perAgentOverride() async throws {
        var configuration = TestRedis.configuration(agents: ["strict", "patient"], threshold: .seconds(300))
        configuration.agents[1].offlineThreshold = .seconds(600)
        try await withTestRedis(removingKeysOf: configuration) { redis in
            try await storeHeartbeat(redis, configuration, "strict", age: .seconds(400))
            try await storeHeartbeat(redis, configuration, "patient", age: .seconds(400))
            let result = try await HeartbeatChecker(client: redis, configuration: configuration).check()
            #expect(result.states.map(\.status) == [.offline, .online])
        }
    }

    @Test func twoThousandAgentsInChunks() async throws {
        let ids = (0..<2000).map { "agent-\($0)" }
        let configuration = TestRedis.configuration(agents: ids, threshold: .seconds(60))
        try await withTestRedis(removingKeysOf: configuration) { redis in
            try await storeMixedHeartbeats(redis, configuration)
            let result = try await HeartbeatChecker(client: redis, configuration: configuration).check()
            #expect(result.states.count == 2000)
            for (index, state) in result.states.enumerated() {
                let expected: AgentStatus = index % 5 == 0 ? .unknown : index % 3 == 0 ? .offline : .online
                #expect(state.status == expected, "agent-\(index)")
                if expected != .unknown {
                    #expect(
                        state.payload.map { String(decoding: $0, as: UTF8.self) } == #"{"status":"ok","n":\#(index)}"#
                    )
                }
            }
            #expect(result.statusMap.summary.totalAgents == 2000)
            #expect(result.statusMap.summary.unknownAgents == 400)
        }
    }

    /// The map written chunk by chunk as the agents are read (ids out of order in agents.yaml, more
    /// than one chunk) is the map of the check's result, byte for byte; one that cannot be written
    /// leaves the result whole.
    @Test func theMapWrittenWhileReadingIsTheResultsMap() async throws {
        let ids = (0..<2500).map { "agent-\((($0 * 7919) % 2500))" }
        let configuration = TestRedis.configuration(agents: ids, threshold: .seconds(60))
        try await withTestRedis(removingKeysOf: configuration) { redis in
            try await storeMixedHeartbeats(redis, configuration)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString).path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let checker = HeartbeatChecker(client: redis, configuration: configuration)

            let check = try await checker.check(writingMapTo: "\(folder)/map.json", degraded: { "a test" })
            #expect(check.mapFailure == nil && check.degraded == "a test")
            var expected = check.result.statusMap
            expected.degraded = "a test"
            let written = try #require(FileManager.default.contents(atPath: "\(folder)/map.json"))
            #expect(Array(written) == expected.render())
            #expect(check.result.states.filter { $0.status == .offline }.count == 667)

            // A folder that is a file: no map, the same check otherwise.
            FileManager.default.createFile(atPath: "\(folder)/file", contents: Data())
            let failed = try await checker.check(writingMapTo: "\(folder)/file/map.json")
            #expect(failed.mapFailure != nil)
            #expect(failed.result.states.map(\.status) == check.result.states.map(\.status))
        }
    }

    @Test func unreachableRedisIsAClearError() async throws {
        let port = try freeLoopbackPort()
        let client = RedisClient(url: RedisURL(host: "127.0.0.1", port: port))
        try await withClosing(client) { redis in
            let checker = HeartbeatChecker(client: redis, configuration: TestRedis.configuration(agents: ["mary"]))
            await #expect {
                _ = try await checker.check()
            } throws: { error in
                (error as? RedisError)?.code == .connectionFailed && "\(error)".contains("127.0.0.1:\(port)")
            }
        }
    }
}
