import AgentHeartbeatCore
import AgentHeartbeatRedis
import AgentHeartbeatTestSupport
import Foundation
import InMemoryLogging
import Logging
import ServiceLifecycleTestKit
import Testing

@testable import AgentHeartbeat

/// The fault suite (issue 9): each test injects one fault into a redis-server of its own, or into a
/// fake Bot API, and asserts what a user cares about: no false alert, no missed alert, no duplicate,
/// a fresh map soon after the fault ends, a bounded shutdown. Serialized: they start processes.
@Suite("Faults", .serialized)
struct FaultTests {
    // MARK: Helpers

    /// One `run` replica against `server`, alerting through `api` when given.
    static func replica(
        _ configuration: MonitorConfiguration,
        _ server: RedisServer,
        api: FakeReceiver?,
        timeout: Int = 2,
        environment: [String: String] = [:]
    ) throws -> SidecarProcess {
        var variables = environment
        if let api { variables.merge(AlertingProcessTests.environment(api)) { $1 } }
        variables["TELEGRAM_TIMEOUT_SECONDS"] = api == nil ? nil : "\(timeout)"
        return try SidecarProcess.running(
            configuration,
            redisURL: "redis://127.0.0.1:\(server.port)",
            environment: variables
        )
    }

    static func configuration(
        _ ids: [String],
        threshold: Duration = .seconds(2),
        cooldown: Duration = .seconds(600)
    ) -> MonitorConfiguration {
        var configuration = TestRedis.configuration(agents: ids, threshold: threshold, interval: .seconds(1))
        configuration.alertCooldown = cooldown
        return configuration
    }

    /// Starts an endless Lua script on its own connection: Redis answers BUSY until SCRIPT KILL.
    static func startBusyScript(_ server: RedisServer, probe: RedisClient) async throws -> RedisClient {
        let busy = server.client()
        Task { _ = try? await busy.send("EVAL", "while true do end", "0") }
        try await eventually("Redis is busy") {
            do {
                _ = try await probe.send("PING")
                return false
            } catch {
                return "\(error)".hasPrefix("BUSY")
            }
        }
        return busy
    }

    /// SIGTERM to each replica (each must exit 0 within the 10 s shutdown deadline), then closes the
    /// clients and stops the server.
    static func stop(
        _ replicas: [SidecarProcess],
        _ clients: [RedisClient],
        _ server: RedisServer,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for replica in replicas {
            replica.signal(SIGTERM)
            let status = try await replica.exitStatus(within: .seconds(10))
            #expect(status == 0, "\(replica.output)", sourceLocation: sourceLocation)
        }
        for client in clients { await client.close() }
        await server.stop()
    }

    static func delivered(_ api: FakeReceiver, mentioning id: String) -> Int {
        api.delivered.filter { $0.text.contains("<code>\(id)</code>") }.count
    }

    // MARK: Redis answers errors

    /// Finding 1: after BUSY replies, every later read got an older command's reply.
    @Test func busyScriptThenScriptKillLeavesNoReplyOutOfStep() async throws {
        try await withRedisServer(["--busy-reply-threshold", "50"]) { server in
            let redis = server.client()
            let configuration = Self.configuration((0..<5).map { "a\($0)" }, threshold: .seconds(60))
            for agent in configuration.agents {
                try await storeHeartbeat(redis, configuration, agent.id, age: .seconds(1))
            }
            let checkerClient = server.client()
            let checker = HeartbeatChecker(client: checkerClient, configuration: configuration)
            _ = try await checker.check()

            let busy = try await Self.startBusyScript(server, probe: redis)
            for _ in 0..<3 { await #expect(throws: RedisError.self) { try await checker.check() } }
            _ = try await redis.send("SCRIPT", "KILL")
            try await eventually("the script is gone") { (try? await redis.send("PING")) != nil }

            for _ in 0..<3 {
                let result = try await checker.check()
                let now = try await redis.serverMilliseconds()
                #expect(abs(now - result.now) < 1000, "the check read a stale TIME reply")
                #expect(result.states.allSatisfy { $0.status == .online }, "\(result.states.map(\.status))")
            }
            // CLIENT KILL TYPE normal drops the checker's connection: the next check reconnects.
            _ = try await redis.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            await #expect(throws: RedisError.self) { try await checker.check() }
            #expect(try await checker.check().states.count == 5)
            for client in [redis, checkerClient, busy] { await client.close() }
        }
    }

    /// Finding 2: a SUBSCRIBE refused (NOPERM) was ignored; the subscriber stayed subscribed to nothing.
    @Test func reconnectsKeepOneSubscriberSlotPerAgent() async throws {
        // Each reconnect used to add a slot for every agent: 5 MB more at 100,000 agents each time.
        try await withRedisServer { server in
            let configuration = Self.configuration(["mary", "lisa"])
            try await withMirror(configuration, on: server) { mirror, redis in
                #expect(mirror.statistics.slots.load(ordering: .relaxed) == 2)
                for _ in 0..<3 {
                    let losses = mirror.statistics.snapshot.connectionLosses
                    _ = try? await redis.send("CLIENT", "KILL", "TYPE", "pubsub")
                    try await eventually("resubscribed") {
                        let snapshot = mirror.statistics.snapshot
                        return snapshot.connectionLosses > losses && snapshot.isSubscribed
                    }
                }
                #expect(mirror.statistics.slots.load(ordering: .relaxed) == 2)
            }
        }
    }

    @Test func refusedSubscribeIsRetriedUntilRedisConfirms() async throws {
        try await withRedisServer { server in
            let configuration = Self.configuration(["mary"])
            try await withMirror(configuration, on: server) { mirror, redis in
                _ = try await redis.send("ACL", "SETUSER", "default", "resetchannels")
                _ = try? await redis.send("CLIENT", "KILL", "TYPE", "pubsub")
                try await eventually("the refusal is seen") { mirror.statistics.snapshot.subscriberFailure != nil }
                #expect(mirror.statistics.snapshot.degradedReason?.contains("not receiving every heartbeat") == true)
                _ = try await redis.send("ACL", "SETUSER", "default", "allchannels")
                try await redis.waitForSubscribers(configuration.agents[0].channel)
                try await redis.publish(configuration.agents[0].channel, #"{"status":"back"}"#)
                try await eventually("mirrored again") {
                    try await redis.heartbeat(configuration, "mary")?.payloadText == #"{"status":"back"}"#
                }
                try await eventually("no longer degraded") { mirror.statistics.snapshot.degradedReason == nil }
            }
        }
    }

    /// Finding 2: a subscriber that (re)connects during a busy script gets BUSY for its SUBSCRIBE.
    @Test func subscribeRefusedByABusyScriptIsRetried() async throws {
        try await withRedisServer(["--busy-reply-threshold", "50"]) { server in
            let configuration = Self.configuration(["mary"])
            let probe = server.client()
            let busy = try await Self.startBusyScript(server, probe: probe)
            try await withMirror(configuration, on: server, subscribed: false) { mirror, redis in
                try await eventually("the BUSY refusal is seen") {
                    mirror.statistics.snapshot.subscriberFailure?.contains("BUSY") == true
                }
                do {
                    _ = try await redis.send("SCRIPT", "KILL")
                } catch  where "\(error)".hasPrefix("NOTBUSY") {
                    // Gone already (seen once under TSan, cause not found): the refusal was what mattered.
                }
                try await eventually("the script is gone") { (try? await redis.send("PING")) != nil }
                try await redis.waitForSubscribers(configuration.agents[0].channel)
                try await eventually("subscribed in the mirror's own count") { mirror.statistics.snapshot.isSubscribed }
            }
            await probe.close()
            await busy.close()
        }
    }

    /// Finding 10: a refused SCRIPT LOAD dropped the batch of heartbeats it was about to write.
    @Test func refusedScriptLoadLosesNoHeartbeat() async throws {
        try await withRedisServer { server in
            let configuration = Self.configuration(["mary"])
            try await withMirror(configuration, on: server) { mirror, redis in
                _ = try await redis.send("ACL", "SETUSER", "default", "-script|load")
                try await redis.publish(configuration.agents[0].channel, #"{"status":"kept"}"#)
                try await eventually("the writer reports the refusal") {
                    mirror.statistics.snapshot.writerFailure?.contains("NOPERM") == true
                }
                _ = try await redis.send("ACL", "SETUSER", "default", "+script|load")
                try await eventually("the heartbeat is stored after all") {
                    try await redis.heartbeat(configuration, "mary")?.payloadText == #"{"status":"kept"}"#
                }
            }
        }
    }

    /// Finding 5: with Redis out of memory a heartbeat was stamped when finally written, so a dead
    /// agent looked alive after the relief.
    @Test func heartbeatKeepsItsArrivalTimeThroughOutOfMemory() async throws {
        try await withRedisServer(["--maxmemory-policy", "noeviction"]) { server in
            let configuration = Self.configuration(["mary"])
            try await withMirror(configuration, on: server) { mirror, redis in
                _ = try await redis.send("CONFIG", "SET", "maxmemory", "1")
                let published = try await redis.serverMilliseconds()
                try await redis.publish(configuration.agents[0].channel, #"{"status":"last words"}"#)
                try await eventually("degraded") { mirror.statistics.snapshot.degradedReason?.contains("OOM") == true }
                try await eventually("two seconds of Redis time pass") {
                    try await redis.serverMilliseconds() - published > 2000
                }
                _ = try await redis.send("CONFIG", "SET", "maxmemory", "0")
                try await eventually("stored after the relief") {
                    try await redis.heartbeat(configuration, "mary") != nil
                }
                let record = try #require(try await redis.heartbeat(configuration, "mary"))
                // Mapped through a TIME reading up to 10 s old: a few ms of clock drift either way.
                #expect(abs(record.receivedAt - published) < 100, "stamped \(record.receivedAt - published) ms late")
                try await eventually("no longer degraded") { mirror.statistics.snapshot.degradedReason == nil }
            }
        }
    }

    /// Fencing (finding 10): a replica that lost the lock cannot overwrite its successor's records.
    @Test func alertRecordsAreFencedByTheLock() async throws {
        let configuration = Self.configuration(["mary"])
        try await withTestRedis(removingKeysOf: configuration) { redis async throws in
            let holder = LeaderLock(key: configuration.leaderKey, token: "a/1", ttl: .seconds(30))
            let former = LeaderLock(key: configuration.leaderKey, token: "b/2", ttl: .seconds(30))
            let fields = ["mary", "1|5|4"]
            #expect(
                try await redis.withConnection { connection throws(RedisError) in
                    try holder.acquireOrRenew(on: connection)
                } == "a/1"
            )
            #expect(
                try await redis.withConnection { connection throws(RedisError) in
                    try former.store(fields, in: configuration.alertsKey, on: connection)
                } == false
            )
            #expect(try await redis.send("HGET", configuration.alertsKey, "mary") == .null)
            #expect(
                try await redis.withConnection { connection throws(RedisError) in
                    try holder.store(fields, in: configuration.alertsKey, on: connection)
                }
            )
            #expect(try await redis.send("HGET", configuration.alertsKey, "mary").text == "1|5|4")
        }
    }

    /// Finding 10: containers share hostname and PID 1, so names cannot tell who leads.
    @Test func leadershipIsToldByTokenNotByName() {
        let first = SidecarStatus(replicaName: "agent-heartbeat:1")
        let second = SidecarStatus(replicaName: "agent-heartbeat:1")
        #expect(first.lockToken != second.lockToken)
        first.leader(first.lockToken)
        second.leader(first.lockToken)
        #expect(first.isLeader && !second.isLeader)
        #expect(second.snapshot.leader == "agent-heartbeat:1")
    }

    // MARK: Redis loses data

    /// Finding 3: a dead agent became "unknown" for good once Redis lost its key, and an alerted one
    /// stopped getting reminders. Now: never-seen agents are alerted after one threshold, the
    /// leader restores the alert records Redis lost (reminders go on, a recovery still arrives),
    /// and after a restart without persistence the silent agent is reminded again.
    @Test func silentAgentsAreAlertedWhateverRedisLost() async throws {
        let server = try await RedisServer.start()
        let api = try FakeReceiver()
        let configuration = Self.configuration(["live", "dead", "never"], cooldown: .seconds(4))
        let redis = server.client()
        let replica = try Self.replica(configuration, server, api: api)
        try await redis.waitForSubscribers(configuration.agents[0].channel)
        let beating = AlertingProcessTests.beat(redis, [configuration.agents[0]])
        try await redis.publish(configuration.agents[1].channel, #"{"status":"ok"}"#)

        try await eventually("the dead and the never-seen agent alerted") {
            Self.delivered(api, mentioning: "dead") >= 1 && Self.delivered(api, mentioning: "never") >= 1
        }
        #expect(api.delivered.contains { $0.text.contains("none since monitoring began at") })

        _ = try await redis.send("FLUSHALL")
        try await eventually("the lost alert record is restored") {
            try await redis.send("HGET", configuration.alertsKey, "dead").text?.hasPrefix("1|") == true
        }
        let beforeReminder = Self.delivered(api, mentioning: "dead")
        try await eventually("still reminded after FLUSHALL", timeout: .seconds(15)) {
            Self.delivered(api, mentioning: "dead") > beforeReminder
        }
        let reviving = AlertingProcessTests.beat(redis, [configuration.agents[1]])
        try await eventually("the recovery arrives though Redis lost the record") {
            api.delivered.contains { $0.text.contains("Agent recovered") && $0.text.contains("<code>dead</code>") }
        }
        reviving.cancel()

        let beforeRestart = Self.delivered(api, mentioning: "never")
        await server.stop()
        try await server.restart()
        try await eventually("reminded again after a restart without persistence", timeout: .seconds(20)) {
            Self.delivered(api, mentioning: "never") > beforeRestart
        }
        beating.cancel()
        #expect(Self.delivered(api, mentioning: "live") == 0, "a live agent was alerted: \(api.delivered.map(\.text))")
        #expect(replica.output.contains("Redis lost alert records"))
        try await Self.stop([replica], [redis], server)
    }

    /// Finding 1: a restart with persistence answers LOADING while it reads its dump. Nothing is
    /// misread, no false alert goes out, and the map is fresh again within interval + 5 s.
    @Test func restartWithPersistenceWhileLoading() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = try await RedisServer.start(["--dir", folder.path, "--enable-debug-command", "yes"])
        let api = try FakeReceiver()
        let configuration = Self.configuration(["live"], threshold: .seconds(3))
        let redis = server.client()
        // Enough data that loading it takes a while; in parts, each well within the command timeout.
        for part in 0..<8 { _ = try await redis.send("DEBUG", "POPULATE", "500000", "filler\(part)", "64") }
        let replica = try Self.replica(configuration, server, api: api)
        try await redis.waitForSubscribers(configuration.agents[0].channel)
        // The agent beats throughout: heartbeats that arrive while Redis loads are kept by the mirror.
        let beating = AlertingProcessTests.beat(redis, configuration.agents)
        try await eventually("online") { replica.status(of: "live") == "online" }
        _ = try await redis.send("BGSAVE")
        try await eventually("saved", timeout: .seconds(60)) {
            try await redis.send("INFO", "persistence").text?.contains("rdb_bgsave_in_progress:0") == true
        }

        await server.stop()
        try await server.restart()
        let probe = server.client()
        let sawLoading = await (try? probe.send("PING")) == nil
        try await eventually("loaded", timeout: .seconds(60)) { (try? await probe.send("PING")) != nil }
        let loaded = ContinuousClock.now
        try await eventually("a fresh map within interval + 5 s", timeout: .seconds(6)) {
            await replica.get("/readyz")?.status == 200 && replica.status(of: "live") == "online"
        }
        print("loading seen: \(sawLoading); loaded to ready with the agent online: \(ContinuousClock.now - loaded)")
        try await AlertingProcessTests.waitCycles([replica])
        beating.cancel()
        #expect(api.requests.isEmpty, "a false alert: \(api.requests.map(\.text))")
        try await Self.stop([replica], [redis, probe], server)
    }

    /// The sidecar itself was down: agents kept publishing, nobody mirrored, every key is old. The
    /// first checks must not call them offline (silence counts only while somebody listens).
    @Test func aSidecarStartedAfterItsOwnOutageRaisesNoFalseAlarm() async throws {
        let server = try await RedisServer.start()
        let api = try FakeReceiver()
        let configuration = Self.configuration(["alive"], threshold: .seconds(5))
        let redis = server.client()
        try await storeHeartbeat(redis, configuration, "alive", age: .seconds(30))
        let replica = try Self.replica(configuration, server, api: api)
        try await redis.waitForSubscribers(configuration.agents[0].channel)
        // Checks run while the agent's next heartbeat is still to come (it is due within 5 s).
        try await AlertingProcessTests.waitCycles([replica], 3)
        let beating = AlertingProcessTests.beat(redis, configuration.agents)
        try await eventually("online") { replica.status(of: "alive") == "online" }
        try await AlertingProcessTests.waitCycles([replica], 5)
        beating.cancel()
        #expect(api.requests.isEmpty, "a false alarm: \(api.requests.map(\.text))")
        try await eventually("alerted once it really stops") { api.delivered.count == 1 }
        try await Self.stop([replica], [redis], server)
    }

    /// Finding 10: the alerts hash kept removed agents' records, so one added back got a stale recovery.
    @Test func removedAgentsRecordsArePruned() async throws {
        let server = try await RedisServer.start()
        let api = try FakeReceiver()
        let configuration = Self.configuration(["mary"])
        let redis = server.client()
        _ = try await redis.send("HSET", configuration.alertsKey, "gone", "1|1|1")
        let replica = try Self.replica(configuration, server, api: api)
        try await eventually("the removed agent's record is pruned") {
            try await redis.send("HEXISTS", configuration.alertsKey, "gone").integer == 0
        }
        try await Self.stop([replica], [redis], server)
    }

    /// A history key of another type (data of somebody else's under the deployment's prefix) is left
    /// alone and told. Before, its error ended the script that records up to 500 agents at a time,
    /// so the agents after it in that script were never recorded.
    @Test func aHistoryKeyOfAnotherTypeHoldsBackNoOtherAgent() async throws {
        let server = try await RedisServer.start()
        let configuration = Self.configuration(["mary", "bob"])
        let redis = server.client()
        let foreign = configuration.historyKey(for: "mary")
        _ = try await redis.send("SET", foreign, "somebody else's")
        let replica = try Self.replica(configuration, server, api: nil)
        try await redis.waitForSubscribers(configuration.agents[1].channel)
        let beating = AlertingProcessTests.beat(redis, configuration.agents)
        try await eventually("bob's history is recorded") {
            let entries = try await redis.send("LRANGE", configuration.historyKey(for: "bob"), "0", "-1")
            return (entries.array ?? []).contains { $0.text?.contains("|online|") == true }
        }
        beating.cancel()
        #expect(try await redis.send("GET", foreign).text == "somebody else's")
        try await eventually("the failure is counted") {
            try await parsedMetrics(replica)["agent_heartbeat_history_failures_total"] ?? 0 >= 1
        }
        #expect(replica.output.contains("\(foreign) holds another type than a list"), "\(replica.output)")
        #expect(replica.output.components(separatedBy: "could not record state changes").count == 2, "logged once")
        try await Self.stop([replica], [redis], server)
    }

    // MARK: Receivers fail

    /// Finding 4: a replica without Telegram settings took the lock; the one that could send never did.
    @Test func replicaThatCannotSendNeverTakesTheLock() async throws {
        let server = try await RedisServer.start()
        let api = try FakeReceiver()
        let configuration = Self.configuration(["mary"])
        let redis = server.client()
        try await storeHeartbeat(redis, configuration, "mary", age: .seconds(10))
        let mute = try Self.replica(configuration, server, api: nil)
        try await eventually("the mute replica has checked") { mute.map() != nil }
        let able = try Self.replica(configuration, server, api: api)
        try await eventually("the able replica alerts") { api.delivered.count == 1 }
        #expect(!mute.output.contains("became the leader"))
        try await Self.stop([mute, able], [redis], server)
    }

    /// A replica that cannot receive every heartbeat (here: its Redis user may not subscribe) holds
    /// its notifications; it must not hold the lock too, or no replica would ever notify.
    @Test func degradedReplicaLeavesTheLockToAHealthyOne() async throws {
        let server = try await RedisServer.start()
        let api = try FakeReceiver()
        let configuration = Self.configuration(["mary"])
        let redis = server.client()
        _ = try await redis.send("ACL", "SETUSER", "blind", "on", ">pw", "~*", "resetchannels", "+@all")
        try await storeHeartbeat(redis, configuration, "mary", age: .seconds(10))
        let blind = try SidecarProcess.running(
            configuration,
            redisURL: "redis://blind:pw@127.0.0.1:\(server.port)",
            environment: AlertingProcessTests.environment(api)
        )
        try await eventually("the blind replica knows it is degraded") { blind.map()?["degraded"] is String }
        let healthy = try Self.replica(configuration, server, api: api)
        try await eventually("the healthy replica alerts") { api.delivered.count == 1 }
        #expect(healthy.output.contains("became the leader"))
        #expect(!blind.output.contains("pw@"), "the password leaked")
        try await Self.stop([blind, healthy], [redis], server)
    }

    /// Finding 6: one message Telegram refuses (400) blocked every later alert.
    @Test func refusedMessageIsSkippedAndOthersStillGo() async throws {
        let server = try await RedisServer.start()
        let api = try FakeReceiver()
        api.refuse(containing: "<code>bad<")  // in the JSON body, "/" may be escaped
        var configuration = Self.configuration(["bad", "good"])
        configuration.agents[1].offlineThreshold = .seconds(5)
        let redis = server.client()
        for id in ["bad", "good"] { try await storeHeartbeat(redis, configuration, id, age: .zero) }
        let replica = try Self.replica(configuration, server, api: api)
        try await eventually("the good agent's alert arrives", timeout: .seconds(20)) {
            Self.delivered(api, mentioning: "good") == 1
        }
        try await AlertingProcessTests.waitCycles([replica])
        #expect(
            api.requests.filter { $0.text.contains("<code>bad</code>") }.count == 1,
            "the refused message was retried"
        )
        #expect(replica.output.contains("refused for good"))
        try await Self.stop([replica], [redis], server)
    }

    /// Findings 8 and 10: a hanging Bot API stalled every check, and SIGTERM took 65 s.
    @Test func hangingBotAPIDelaysNeitherChecksNorShutdown() async throws {
        try await withRedisServer { server in
            let api = try FakeReceiver()
            api.hang(true)
            let configuration = Self.configuration(["mary"])
            try await server.withClient { redis in
                try await storeHeartbeat(redis, configuration, "mary", age: .seconds(10))
                let replica = try Self.replica(configuration, server, api: api, timeout: 60)
                try await eventually("a delivery hangs") { !api.requests.isEmpty }
                try await AlertingProcessTests.waitCycles([replica])
                replica.signal(SIGTERM)
                let stopping = ContinuousClock.now
                #expect(try await replica.exitStatus(within: .seconds(10)) == 0, "\(replica.output)")
                print("shutdown with the Bot API hanging took \(ContinuousClock.now - stopping)")
                #expect(api.delivered.isEmpty)
                api.hang(false)
            }
        }
    }

    /// Watch the watcher: the leader pings the watchdog after each check, `/fail` when checks fail.
    @Test func watchdogIsPingedAndToldOfFailures() async throws {
        let server = try await RedisServer.start()
        let watchdog = try FakeReceiver()
        let secret = "/ping/wd-SECRET-\(UUID().uuidString)"
        let configuration = Self.configuration(["mary"])
        let replica = try Self.replica(
            configuration,
            server,
            api: nil,
            environment: ["AGENT_HEARTBEAT_WATCHDOG_URL": watchdog.url + secret]
        )
        try await eventually("pinged after a check") { watchdog.requests.contains { $0.path == secret } }
        await server.stop()
        try await eventually("told of the failed check") { watchdog.requests.contains { $0.path == secret + "/fail" } }
        replica.signal(SIGTERM)
        #expect(try await replica.exitStatus(within: .seconds(10)) == 0, "\(replica.output)")
        #expect(!replica.output.contains("wd-SECRET"), "\(replica.output)")
    }

    // MARK: Redis out of memory, frozen

    /// Finding 5: out of memory, the replica stayed ready and alerts were derived from stale data.
    @Test func outOfMemoryMakesTheReplicaNotReadyAndSendsNothingFalse() async throws {
        try await withRedisServer(["--maxmemory-policy", "noeviction"]) { server in
            let api = try FakeReceiver()
            let configuration = Self.configuration(["live"])
            try await server.withClient { redis in
                let replica = try Self.replica(configuration, server, api: api)
                try await redis.waitForSubscribers(configuration.agents[0].channel)
                let beating = AlertingProcessTests.beat(redis, configuration.agents)
                try await eventually("online") { replica.status(of: "live") == "online" }

                _ = try await redis.send("CONFIG", "SET", "maxmemory", "1")
                let oom = ContinuousClock.now
                try await eventually("not ready, saying why") {
                    guard let answer = await replica.get("/readyz") else { return false }
                    return answer.status == 503 && answer.body.contains("cannot store heartbeats")
                }
                print("out of memory to /readyz 503: \(ContinuousClock.now - oom)")
                try await eventually("the map says degraded") { replica.map()?["degraded"] is String }
                try await eventually("longer than the threshold passes") { ContinuousClock.now - oom > .seconds(4) }

                _ = try await redis.send("CONFIG", "SET", "maxmemory", "0")
                let relief = ContinuousClock.now
                try await eventually("ready again") { await replica.get("/readyz")?.status == 200 }
                try await eventually("a fresh map, not degraded") {
                    replica.map()?["degraded"] == nil && replica.status(of: "live") == "online"
                }
                print("relief to ready with a fresh map: \(ContinuousClock.now - relief)")
                try await AlertingProcessTests.waitCycles([replica])
                #expect(api.requests.isEmpty, "a false alert: \(api.requests.map(\.text))")

                // SIGTERM while out of memory: heartbeats cannot be flushed, the exit is bounded all the same.
                _ = try await redis.send("CONFIG", "SET", "maxmemory", "1")
                try await eventually("not ready again") { await replica.get("/readyz")?.status == 503 }
                replica.signal(SIGTERM)
                let stopping = ContinuousClock.now
                #expect(try await replica.exitStatus(within: .seconds(10)) == 0)
                print("shutdown with Redis out of memory took \(ContinuousClock.now - stopping)")
                beating.cancel()
                _ = try await redis.send("CONFIG", "SET", "maxmemory", "0")
            }
        }
    }

    /// Finding 8: SIGTERM with Redis frozen took 11.6 s. Also: SIGSTOP/SIGCONT, and the map is fresh
    /// again within interval + 5 s of the thaw.
    @Test func frozenRedisThenThawThenShutdownWhileFrozen() async throws {
        try await withRedisServer { server in
            let configuration = Self.configuration(["mary"], threshold: .seconds(60))
            try await server.withClient { redis in
                try await storeHeartbeat(redis, configuration, "mary", age: .zero)
                let replica = try Self.replica(configuration, server, api: nil)
                try await eventually("online") { replica.status(of: "mary") == "online" }

                server.signal(SIGSTOP)
                let frozen = ContinuousClock.now
                try await eventually("not ready while frozen") { await replica.get("/readyz")?.status == 503 }
                print("Redis frozen to /readyz 503: \(ContinuousClock.now - frozen)")
                server.signal(SIGCONT)
                let thawed = try await redis.serverMilliseconds()
                try await eventually("a fresh map within interval + 5 s", timeout: .seconds(6)) {
                    guard let stamp = replica.map()?["timestamp"] as? String,
                        let time = unixMilliseconds(iso8601: stamp)
                    else {
                        return false
                    }
                    return time >= thawed
                }
                try await eventually("ready again") { await replica.get("/readyz")?.status == 200 }

                server.signal(SIGSTOP)
                replica.signal(SIGTERM)
                let stopping = ContinuousClock.now
                let status = try await replica.exitStatus(within: .seconds(10))
                print("shutdown with Redis frozen took \(ContinuousClock.now - stopping)")
                server.signal(SIGCONT)
                #expect(status == 0, "\(replica.output)")
            }
        }
    }
}
