import AgentHeartbeatCore
import Testing

@Suite("Stored heartbeat records")
struct HeartbeatRecordTests {
    @Test func readsWhatTheMirrorStores() throws {
        let payload = Array(#"{"status":"ok"}"#.utf8)
        let stored =
            #"{"received_at_ms":1796000000000,"#
            + String(decoding: HeartbeatRecord.storedFields(payload: payload, problem: nil), as: UTF8.self) + "}"
        let record = try #require(HeartbeatRecord(stored: Array(stored.utf8)))
        #expect(record == HeartbeatRecord(receivedAt: 1_796_000_000_000, payload: payload))
    }

    @Test func readsARecordedProblem() throws {
        let fields = HeartbeatRecord.storedFields(payload: [], problem: .notJSON)
        let record = try #require(
            HeartbeatRecord(stored: Array(#"{"received_at_ms":5,"#.utf8) + fields + [UInt8(ascii: "}")])
        )
        #expect(record.error == "payload is not valid JSON")
        #expect(record.payload == nil)
    }

    @Test(arguments: [#"{"received_at_ms":5,"payload":[1]}"#, #"{"received_at_ms":5,"payload":"x"}"#])
    func aPayloadThatIsNotAnObjectIsAnError(stored: String) throws {
        let record = try #require(HeartbeatRecord(stored: Array(stored.utf8)))
        #expect(record.error == "payload is JSON but not an object")
    }

    @Test(arguments: [
        "", "not json", "[]", #"{"payload":{}}"#, #"{"received_at_ms":"soon"}"#, #"{"received_at_ms":1.5}"#,
    ])
    func somethingElseIsNotARecord(stored: String) {
        #expect(HeartbeatRecord(stored: Array(stored.utf8)) == nil)
    }
}
