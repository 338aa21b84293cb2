import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Testing

/// The mirror's heartbeat script on a real Redis, fed heartbeats at chosen times: what it learns.
@Suite("Heartbeat script: cadence, copies, failing reports, restarts")
struct HeartbeatScriptTests {
    let configuration = TestRedis.configuration(agents: ["mary"])
    let start: Int64 = 1_700_000_000_000

    /// Stores `payload` as received at `second` (from `start`); returns the script's reply.
    func beat(_ redis: RedisClient, at second: Double, _ payload: String) async throws -> Int64? {
        let time = start + Int64(second * 1000)
        let command = RedisCommand.storeHeartbeat(
            configuration.heartbeatKey(for: "mary"),
            payload: payload,
            at: time,
            configuration: configuration
        )
        return try await redis.send(command).integer
    }

    /// Stores `payload` as received at `second`, keeping a series of `points` with `metrics`.
    func beat(
        _ redis: RedisClient,
        at second: Double,
        _ payload: String,
        points: Int,
        metrics: [String]
    ) async throws -> Int64? {
        let bytes = Array(payload.utf8)
        let facts = bytes.withUnsafeBufferPointer {
            HeartbeatFacts(payload: $0, usable: true, isFailing: { _ in false }, metricNames: metrics)
        }
        let keys = [configuration.heartbeatKey(for: "mary"), configuration.seriesKey(for: "mary")]
        let arguments: [[UInt8]] =
            [
                Array("600".utf8), HeartbeatRecord.storedFields(payload: bytes, problem: nil),
                Array(String(start + Int64(second * 1000)).utf8), Array("0".utf8),
                HeartbeatFacts.hex(facts.payloadHash), [], Array("4".utf8), Array("600000".utf8),
                Array(String(points).utf8),
            ] + facts.metrics
        let command = RedisCommand(
            "EVAL",
            [RedisScript.mirrorHeartbeat.source, "2"].map { Array($0.utf8) } + keys.map { Array($0.utf8) } + arguments
        )
        return try await redis.send(command).integer
    }

    func series(_ redis: RedisClient) async throws -> [String: [APIDocument.Point]] {
        let entries = try await redis.send("LRANGE", configuration.seriesKey(for: "mary"), "0", "-1")
        return MetricSeries.points(from: (entries.array ?? []).compactMap(\.text))
    }

    @Test func seriesFoldEachMinuteIntoLastMinMaxAndKeepTheirPoints() async throws {
        try await withTestRedis(removingKeysOf: configuration) { redis in
            // `start` is 20 s into a minute: 0, 20 and 39 s from it fall in one minute, 40 s in the next.
            for (second, value) in [(0.0, "10"), (20, "30"), (39, "20"), (40, "\"high\"")] {
                _ = try await beat(
                    redis,
                    at: second,
                    #"{"rt":\#(value),"n":\#(second)}"#,
                    points: 3,
                    metrics: ["rt"]
                )
            }
            var points = try await series(redis)
            #expect(points["rt"]?.map { [$0.last, $0.min, $0.max] } == [[20, 10, 30]], "a string is skipped")
            #expect(
                points[AgentRules.intervalMetric]?.map { [$0.last, $0.min, $0.max] } == [[19, 19, 20], [1, 1, 1]]
            )
            for minute in 2...5 {
                _ = try await beat(redis, at: Double(minute * 60), #"{"rt":1}"#, points: 3, metrics: ["rt"])
            }
            points = try await series(redis)
            #expect(points[AgentRules.intervalMetric]?.count == 3, "at most the points configured")
            #expect(points["rt"]?.last?.last == 1)
            let ttl = try await redis.send("TTL", configuration.seriesKey(for: "mary")).integer ?? -1
            #expect(ttl > 0 && ttl <= 600, "expires with the heartbeat")

            _ = try await redis.send("DEL", configuration.seriesKey(for: "mary"))
            _ = try await beat(redis, at: 400, #"{"rt":5}"#, points: 0, metrics: ["rt"])
            #expect(try await redis.send("EXISTS", configuration.seriesKey(for: "mary")).integer == 0, "0: no series")
        }
    }

    /// A series key of another type is left alone. Before, its error came after the heartbeat was
    /// set, and the writer took the reply for a refused write (degraded, and retried).
    @Test func aSeriesKeyOfAnotherTypeIsLeftAloneAndTheHeartbeatCounts() async throws {
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let foreign = configuration.seriesKey(for: "mary")
            _ = try await redis.send("SET", foreign, "somebody else's")
            for second in [0.0, 30] {
                #expect(try await beat(redis, at: second, #"{"rt":1}"#, points: 3, metrics: ["rt"]) == 1)
            }
            #expect(try await redis.heartbeat(configuration, "mary")?.receivedAt == start + 30_000)
            #expect(try await redis.send("GET", foreign).text == "somebody else's")
        }
    }

    func learnt(_ redis: RedisClient) async throws -> HeartbeatHistory? {
        try await redis.heartbeat(configuration, "mary")?.history
    }

    @Test func learnsTheCadenceAndDiscountsAnOutage() async throws {
        try await withTestRedis(removingKeysOf: configuration) { redis in
            for number in 0...6 { _ = try await beat(redis, at: Double(number) * 5, #"{"n":\#(number)}"#) }
            var history = try #require(try await learnt(redis))
            #expect(history.intervals == 6 && history.meanMilliseconds == 5000 && history.deviationMilliseconds == 0)
            #expect(history.lateAfterMilliseconds == 10_000)
            // An hour's outage counts as three means (one outage does not teach a new cadence),
            // weighted 1/7 as the seventh interval: 5000 + 10000 / 7.
            _ = try await beat(redis, at: 3630, #"{"n":7}"#)
            history = try #require(try await learnt(redis))
            #expect(history.meanMilliseconds == 6429)
            // A jittery agent: the deviation widens the limit.
            for (number, second) in [3634.0, 3640, 3644, 3650, 3654].enumerated() {
                _ = try await beat(redis, at: second, #"{"m":\#(number)}"#)
            }
            history = try #require(try await learnt(redis))
            #expect(history.deviationMilliseconds > 900)
            let limit = try #require(history.lateAfterMilliseconds)
            #expect(limit > 2 * history.meanMilliseconds)
        }
    }

    @Test func anotherReplicasCopyCountsOnce() async throws {
        try await withTestRedis(removingKeysOf: configuration) { redis in
            let error = #"{"status":"error"}"#
            let stored = try await beat(redis, at: 0, error)
            let copy = try await beat(redis, at: 0.004, error)  // the same, from another replica
            let earlier = try await beat(redis, at: -0.003, error)  // never backwards
            #expect(stored == 1 && copy == 0 && earlier == 0)
            #expect(try await learnt(redis)?.failing == 1)
            // The same payload a second later is a new heartbeat.
            let later = try await beat(redis, at: 1, error)
            #expect(later == 1)
            #expect(try await learnt(redis)?.failing == 2)
            #expect(try await learnt(redis)?.intervals == 1)
        }
    }

    @Test func countsFailingReportsUntilAGoodOne() async throws {
        try await withTestRedis(removingKeysOf: configuration) { redis in
            _ = try await beat(redis, at: 0, #"{"status":"Critical","message":"disk full"}"#)
            _ = try await beat(redis, at: 5, #"{"status":"down"}"#)
            #expect(try await learnt(redis)?.failing == 2)
            _ = try await beat(redis, at: 10, #"{"status":"ok"}"#)
            #expect(try await learnt(redis)?.failing == 0)
            _ = try await beat(redis, at: 15, "not json")  // unusable, so not a failing report
            #expect(try await learnt(redis)?.failing == 0)
            #expect(try await redis.heartbeat(configuration, "mary")?.error == "payload is not valid JSON")
        }
    }

    @Test func countsRestartsWithinTheWindow() async throws {
        try await withTestRedis(removingKeysOf: configuration) { redis in
            for (second, instance) in [(0.0, "a"), (5, "a"), (10, "b"), (15, "c"), (20, "d")] {
                _ = try await beat(redis, at: second, #"{"instance":"\#(instance)","t":\#(second)}"#)
            }
            var history = try #require(try await learnt(redis))
            #expect(history.hasInstance)
            #expect(history.restarts == [start + 10_000, start + 15_000, start + 20_000])
            // `started_at` serves as well; restarts older than the longest window (600 s) are dropped.
            _ = try await beat(redis, at: 700, #"{"started_at":"2026-11-30T00:00:00Z"}"#)
            history = try #require(try await learnt(redis))
            #expect(history.restarts == [start + 700_000])
            // Payloads without an instance keep the last one known.
            _ = try await beat(redis, at: 705, #"{"t":705}"#)
            _ = try await beat(redis, at: 710, #"{"started_at":"2026-11-30T00:00:00Z"}"#)
            #expect(try await learnt(redis)?.restarts.count == 1)
        }
    }
}
