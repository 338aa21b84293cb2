import AgentHeartbeatCore
import Foundation
import Testing

@Suite("YAML documents")
struct YAMLDocumentTests {
    @Test func aliasesReuseTheAnchoredNode() throws {
        let root = try #require(try YAMLDocument.parse("a: &shared [1, two]\nb: *shared\n"))
        guard case .mapping(let pairs) = root.kind else {
            Issue.record("not a mapping: \(root)")
            return
        }
        #expect(pairs.map(\.key.kind) == [.scalar("a", plain: true), .scalar("b", plain: true)])
        guard case .sequence(let items) = pairs[0].value.kind else {
            Issue.record("not a list: \(pairs[0].value)")
            return
        }
        #expect(items.map(\.kind) == [.scalar("1", plain: true), .scalar("two", plain: true)])
        #expect(items.map(\.mark) == [YAMLMark(line: 1, column: 13), YAMLMark(line: 1, column: 16)])
        #expect(pairs[1].value == pairs[0].value)
    }

    @Test func unknownAliasIsAnError() {
        #expect(throws: YAMLSyntaxError.self) { try YAMLDocument.parse("a: *nowhere\n") }
    }

    @Test func onlyTheFirstDocumentIsRead() throws {
        let root = try YAMLDocument.parse("first\n---\nsecond\n")
        #expect(root?.kind == .scalar("first", plain: true))
        #expect(try YAMLDocument.parse("") == nil)
    }
}
