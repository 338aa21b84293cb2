import AgentHeartbeatCore
import AgentHeartbeatRedis
import Testing

@testable import AgentHeartbeat

/// The RESP encoder every command goes through (`RedisConnection.append`).
@Suite("Redis commands in the wire format")
struct RedisCommandTests {
    @Test func encodesArgumentsAsBulkStrings() {
        let encoded = String(decoding: RedisCommand("SET", "k", "value").encoded, as: UTF8.self)
        #expect(encoded == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n")
        #expect(String(decoding: RedisCommand("PING").encoded, as: UTF8.self) == "*1\r\n$4\r\nPING\r\n")
    }

    @Test func isBinarySafeAndCountsBytesNotCharacters() {
        let encoded = RedisCommand("SET", [Array("k".utf8), [0, 13, 10, 0xFF], [], Array("é".utf8)]).encoded
        #expect(
            encoded == Array("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n".utf8) + [0, 13, 10, 0xFF]
                + Array("\r\n$0\r\n\r\n$2\r\né\r\n".utf8)
        )
    }

    /// The checker's reads are written argument by argument into a reused buffer: the same bytes.
    @Test func theCheckersReadsAreWrittenInPlaceAsTheyWouldBeEncoded() {
        let ids = (0..<1234).map { "agent-\($0)" }
        var writer = RedisCommandWriter()
        writer.readHeartbeats(keyPrefix: Array("agents:last:".utf8), ids: ["stale"])
        writer.removeAll()
        writer.readHeartbeats(keyPrefix: Array("agents:last:".utf8), ids: ids)
        writer.readAlertRecords("agents:alerts", ids: ids)
        #expect(
            writer.bytes
                == RedisCommand("MGET", ids.map { "agents:last:\($0)" }).encoded
                + RedisCommand("HMGET", ["agents:alerts"] + ids).encoded
        )
        writer.removeAll()
        writer.readAlertRecords("k", ids: [])
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "*2\r\n$5\r\nHMGET\r\n$1\r\nk\r\n")
    }

    @Test func aRealRedisReadsWhatItEncodes() async throws {
        try await withTestRedis { redis in
            let key = "test-resp-\(UInt32.random(in: 0...UInt32.max))"
            let value: [UInt8] = [0, 13, 10, 36, 42, 0xFF] + Array("ünïcode".utf8)
            _ = try await redis.send(RedisCommand("SET", [Array(key.utf8), value]))
            #expect(try await redis.send("GET", key).bytes == value)
            _ = try await redis.send("DEL", key)
        }
    }
}
