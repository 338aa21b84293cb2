import Foundation
import Testing

@testable import AgentHeartbeatCore

@Suite("Payload validation in the mirror")
struct PayloadValidationTests {
    @Test(arguments: [
        #"{"status":"ok","n":[1,{"x":"é\n"}],"z":null}"#, "[1,2]", "\"ok\"", "not json", "{\"a\":1,}",
        "{\"a\":\"\\ud83d\"}", "",
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600), "{\"a\":1e999}",
    ])
    func agreesWithParse(_ text: String) {
        let bytes = Array(text.utf8)
        let parsed: HeartbeatPayload.Problem? =
            switch HeartbeatPayload.parse(bytes) {
            case .success: nil
            case .failure(let problem): problem
            }
        #expect(HeartbeatPayload.problem(with: bytes) == parsed)
    }

    @Test func invalidUTF8IsNotJSON() {
        #expect(HeartbeatPayload.problem(with: [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]) == .notJSON)
    }
}
