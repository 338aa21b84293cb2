import AgentHeartbeat
import AgentHeartbeatRedis
import Foundation
import Testing

/// The checker's reading of MGET and HMGET replies in place, without hiredis' reply objects.
@Suite("Array replies scanned in place")
struct RedisArrayScannerTests {
    /// A binary value with a line end inside, an empty one, a null, then items that are not strings.
    static let wire = Array("*6\r\n$7\r\na\r\nb\0\u{FF}\r\n$0\r\n\r\n$-1\r\n+OK\r\n:42\r\n-ERR no\r\n".utf8)
    static let expected: [[UInt8]?] = [Array("a\r\nb\0\u{FF}".utf8), [], nil, nil, nil, nil]

    /// The items of the array at the start of `bytes`, as far as they are all there.
    static func scan(_ bytes: [UInt8]) throws(RedisError) -> [[UInt8]?] {
        try bytes.withUnsafeBufferPointer { buffer throws(RedisError) in
            guard case .array(let count, var position) = RedisArrayScanner.header(in: buffer, at: 0) else { return [] }
            var items: [[UInt8]?] = []
            while items.count < count, let (value, end) = try RedisArrayScanner.item(in: buffer, at: position) {
                items.append(value.map { Array(buffer[$0]) })
                position = end
            }
            return items
        }
    }

    @Test func findsBulkStringsAndNothingElse() throws {
        #expect(try Self.scan(Self.wire) == Self.expected)
        // hiredis reads the same.
        let replies = try RedisReply.replies(inWireFormat: Self.wire)
        #expect(replies.first?.array?.map(\.bytes) == Self.expected)
    }

    /// However the bytes arrive, an item is handed over only once all of it is there.
    @Test func aReplyCutAnywhereIsReadOnlyAsFarAsItIsComplete() throws {
        for length in 0..<Self.wire.count {
            let items = try Self.scan(Array(Self.wire[..<length]))
            #expect(items == Array(Self.expected.prefix(items.count)), "cut at \(length)")
            #expect(items.count < Self.expected.count, "cut at \(length)")
        }
    }

    @Test func headers() {
        func header(_ text: String) -> RedisArrayScanner.Header {
            Array(text.utf8).withUnsafeBufferPointer { RedisArrayScanner.header(in: $0, at: 0) }
        }
        #expect(header("*1000\r\n$") == .array(count: 1000, end: 7))
        #expect(header("") == .incomplete)
        #expect(header("*10") == .incomplete)
        #expect(header("*10\r") == .incomplete)
        // For hiredis to read: an error, a null array, a malformed count.
        #expect(header("-WRONGTYPE Operation against a key\r\n") == .other)
        #expect(header("*-1\r\n") == .other)
        #expect(header("*1x\r\n") == .other)
    }

    @Test(arguments: [
        "*1\r\n*1\r\n$1\r\na\r\n", "*1\r\n%1\r\n", "*1\r\n$x\r\n", "*1\r\n$-2\r\n", "*1\r\n$\r\n",
        "*1\r\n$3\r\nabcd\r\n", "*1\r\n$1000000000000\r\n", "*1\r\n_\r\n",
    ])
    func malformedItemsAreProtocolErrors(wire: String) {
        #expect(throws: RedisError.self) { try Self.scan(Array(wire.utf8)) }
    }

    /// From a real Redis: values far larger than one socket read (hiredis reads 16 KB at a time),
    /// missing keys, an error reply and a reply of the wrong length; the connection stays usable.
    @Test func aRealRedisReplyIsReadInPlace() async throws {
        let prefix = "test-scan-\(UUID().uuidString.prefix(8))"
        let keys = (0..<1000).map { "\(prefix):\($0)" }
        // Every third key missing; the others 1 to 100,000 bytes, each byte telling its key.
        let values: [[UInt8]?] = keys.indices.map { index in
            index % 3 == 0
                ? nil : Array(repeating: UInt8(truncatingIfNeeded: index), count: 1 + index * index % 100_000)
        }
        try await withTestRedis { redis in
            for (key, value) in zip(keys, values) {
                if let value { _ = try await redis.send(RedisCommand("SET", [Array(key.utf8), value])) }
            }
            let read = try await redis.withConnection { connection throws(RedisError) in
                try connection.append(RedisCommand("MGET", keys))
                try connection.flush()
                var read: [[UInt8]?] = Array(repeating: nil, count: keys.count)
                try connection.readArray(count: keys.count, of: "MGET") { index, bytes in
                    read[index] = bytes.map(Array.init)
                }
                return read
            }
            #expect(read == values)
            let wrongType = await #expect(throws: RedisError.self) {
                try await redis.withConnection { connection throws(RedisError) in
                    try connection.append(RedisCommand("HMGET", [keys[1], "field"]))
                    try connection.readArray(count: 1, of: "HMGET") { _, _ in }
                }
            }
            let wrongCount = await #expect(throws: RedisError.self) {
                try await redis.withConnection { connection throws(RedisError) in
                    try connection.append(RedisCommand("MGET", [keys[1], keys[2]]))
                    try connection.readArray(count: 3, of: "MGET") { _, _ in }
                }
            }
            #expect(wrongType?.code == .commandFailed && wrongType?.message.contains("WRONGTYPE") == true)
            #expect(wrongCount?.code == .unexpectedReply)
            #expect(try await redis.send("PING").text == "PONG")
            _ = try await redis.send(RedisCommand("DEL", keys))
        }
    }
}
