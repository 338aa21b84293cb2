import AgentHeartbeatRedis
import Testing

@testable import AgentHeartbeat

/// What the subscriber learns from its socket: heartbeats that reached this replica but wait
/// unread (one read takes 16 KiB) count as not stored yet (`MirrorStatistics.unstoredSince`).
/// A read that takes less than it could left the socket empty; a full one may have left bytes.
@Suite("Subscriber socket")
struct SubscriberSocketTests {
    @Test func aFullReadIsToldUntilTheLastBytesAreRead() async throws {
        let url = try TestRedis.url
        let channel = "test-unread-\(UInt32.random(in: 0...UInt32.max))"
        let (left, received, leftAtTheEnd) = try await JobThread.run(named: "test-subscriber") {
            let subscriber = try RedisConnection(url: url)
            let publisher = try RedisConnection(url: url)
            try subscriber.append(RedisCommand("SUBSCRIBE", channel))
            try subscriber.flush()
            var received = 0
            let count = { (push: borrowing RedisPush) in if push.kind == .message { received += 1 } }
            while received == 0 {
                _ = try publisher.call(RedisCommand("PUBLISH", channel, "first"))
                if try subscriber.waitForData(timeout: .milliseconds(100)) { try subscriber.drainBufferedPushes(count) }
            }
            // 64 KiB more than one read takes, all sent before the subscriber reads.
            let payload = String(repeating: "x", count: 1024)
            for _ in 0..<64 { _ = try publisher.call(RedisCommand("PUBLISH", channel, payload)) }
            let expected = received + 64
            _ = try subscriber.waitForData(timeout: .seconds(5))
            try subscriber.drainBufferedPushes(count)
            let left = !subscriber.emptiedSocket
            while received < expected {
                if try subscriber.waitForData(timeout: .seconds(5)) { try subscriber.drainBufferedPushes(count) }
            }
            return (left, received - expected + 64, !subscriber.emptiedSocket)
        }
        #expect(left, "one read cannot take 64 KiB")
        #expect(received == 64)
        #expect(!leftAtTheEnd)
    }
}
