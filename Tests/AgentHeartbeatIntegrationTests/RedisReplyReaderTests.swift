import AgentHeartbeatRedis
import Testing

/// Replies read from the wire format by hiredis' parser, as a connection reads them.
@Suite("Redis replies from the wire")
struct RedisReplyReaderTests {
    @Test func readsEveryCompleteReplyAndSeesPushes() throws {
        let push = "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n"
        // The last reply is incomplete: not returned.
        let wire = push + "-BUSY running a script\r\n:42\r\n$-1\r\n*1\r\n$2\r\nab"
        var pushes: [String] = []
        let replies = try RedisReply.replies(inWireFormat: Array(wire.utf8)) { push in
            pushes.append(String(decoding: push.payload, as: UTF8.self))
        }
        #expect(
            replies == [
                .array([.string(Array("message".utf8)), .string([97]), .string(Array("hi".utf8))]),
                .error("BUSY running a script"), .integer(42), .null,
            ]
        )
        #expect(pushes == ["hi"])
    }

    /// Found by the fuzzer: hiredis 0.14 allocated the element table the header announced (6 GB here)
    /// before a single element arrived.
    @Test func anArrayAnnouncingMoreElementsThanAnyReplyOfOursIsAProtocolError() {
        #expect(throws: RedisError.self) {
            try RedisReply.replies(inWireFormat: Array("*764388000\r\n$6\r\ny23456\r\n".utf8))
        }
        #expect(throws: Never.self) {
            try RedisReply.replies(inWireFormat: Array("*1048576\r\n".utf8))
        }
    }

    /// Sharded pub/sub pushes read as their classic twins, flagged, with Redis' own counts.
    @Test func shardPushesAreReadAsPushes() throws {
        func push(_ kind: String, _ third: String) -> String {
            "*3\r\n$\(kind.utf8.count)\r\n\(kind)\r\n$1\r\nc\r\n\(third)"
        }
        let wire =
            push("ssubscribe", ":1\r\n") + push("smessage", "$2\r\nhi\r\n") + push("sunsubscribe", ":0\r\n")
            + push("subscribe", ":3\r\n")
        var seen: [String] = []
        _ = try RedisReply.replies(inWireFormat: Array(wire.utf8)) { push in
            seen.append(
                "\(push.kind) \(push.sharded) \(push.subscriptions) \(String(decoding: push.payload, as: UTF8.self))"
            )
        }
        #expect(seen == ["subscribe true 1 ", "message true 0 hi", "unsubscribe true 0 ", "subscribe false 3 "])
    }
}
