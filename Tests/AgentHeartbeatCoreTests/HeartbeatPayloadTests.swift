import AgentHeartbeatCore
import Testing

@Suite("Heartbeat payloads")
struct HeartbeatPayloadTests {
    @Test func objectWithoutStatus() throws {
        let payload = try HeartbeatPayload.parse(Array(#"{"queue":[1,2],"ok":true,"load":0.5,"x":null}"#.utf8)).get()
        #expect(payload.reportedStatus == nil)
        #expect(
            payload.metadata == [
                "queue": .array([.integer(1), .integer(2)]), "ok": .bool(true), "load": .number(0.5), "x": .null,
            ]
        )
    }

    @Test func nonTextStatusStaysInMetadata() throws {
        let payload = try HeartbeatPayload.parse(Array(#"{"status":3}"#.utf8)).get()
        #expect(payload.reportedStatus == nil)
        #expect(payload.metadata == ["status": .integer(3)])
    }

    @Test(arguments: [
        (Array("not json".utf8), HeartbeatPayload.Problem.notJSON),
        (Array("[1,2,3]".utf8), .notAnObject),
        (Array("\"ok\"".utf8), .notAnObject),
        ([0xFF, 0xFE, 0x00, 0x7B], .notJSON),
        ([], .notJSON),
        (Array(repeating: UInt8(ascii: " "), count: 65_537), .tooLarge(bytes: 65_537)),
    ])
    func problems(bytes: [UInt8], problem: HeartbeatPayload.Problem) {
        #expect(HeartbeatPayload.parse(bytes) == .failure(problem))
    }

    @Test func exactlyTheLimitIsAccepted() throws {
        let padding = String(repeating: " ", count: HeartbeatPayload.maximumSize - 2)
        #expect(throws: Never.self) { try HeartbeatPayload.parse(Array("{\(padding)}".utf8)).get() }
    }
}
