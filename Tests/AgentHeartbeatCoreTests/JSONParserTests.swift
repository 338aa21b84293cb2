import Foundation
import Testing

@testable import AgentHeartbeatCore

@Suite("JSON parser")
struct JSONParserTests {
    func parse(_ text: String) -> JSONValue? {
        Array(text.utf8).withUnsafeBufferPointer { try? JSONParser.parse($0) }
    }

    @Test func values() {
        #expect(
            parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null], "b": {"c": "d"}, "": 0} "#)
                == .object([
                    "a": .array([
                        .integer(1), .integer(-2), .number(3.5), .number(1000), .bool(true), .bool(false), .null,
                    ]),
                    "b": .object(["c": .string("d")]),
                    "": .integer(0),
                ])
        )
        #expect(parse("9223372036854775807") == .integer(.max))
        #expect(parse("9223372036854775808") == .number(9_223_372_036_854_775_808))
        #expect(parse("[]") == .array([]))
        #expect(parse("{}") == .object([:]))
    }

    @Test func stringEscapes() {
        #expect(parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(parse(#""\u00e9\u4e2d\ud83d\ude00 ✓""#) == .string("é中😀 ✓"))
        #expect(parse(#""<img src=x onerror=alert(1)>""#) == .string("<img src=x onerror=alert(1)>"))
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{a:1}", "{\"a\" 1}", "01", "-", "1.", ".5", "1e", "+1", "tru", "nul",
        "[1 2]",
        "\"abc", "\"\\x\"", "\"\\ud83d\"", "\"\\udc00\"", "\"a\u{01}b\"", "1 2", "NaN", "1e999", "{\"a\":1}x",
    ])
    func refuses(_ text: String) {
        #expect(parse(text) == nil)
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect([0x22, 0xC3, 0x28, 0x22].withUnsafeBufferPointer { try? JSONParser.parse($0) } == nil)
        #expect(parse(String(repeating: "[", count: 513) + String(repeating: "]", count: 513)) == nil)
        #expect(parse(String(repeating: "[", count: 512) + String(repeating: "]", count: 512)) != nil)
    }

    @Test func agreesWithFoundation() throws {
        let text = #"{"status":"ok","n":[1,2,{"x":"y\n"}],"f":0.25,"t":true,"z":null,"s":"é"}"#
        let ours = try #require(parse(text))
        let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(ours == foundation)
    }
}
