import AgentHeartbeat
import AgentHeartbeatCore
import Foundation
import Testing

@Suite("Configuration store")
struct ConfigurationStoreTests {
    @Test func aChangeAnywhereInTheFileIsSeenEvenAtTheSameSize() throws {
        let padding = String(repeating: "# a long comment, so the change sits far past the start\n", count: 4)
        let folder = try SidecarProcess.folder(config: padding + "agents:\n  - id: mary\n    name: Mary\n")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("agents.yaml").path
        let store = ConfigurationStore(try MonitorConfiguration(contentsOfFile: path), path: path)
        #expect(store.reload() == .unchanged)

        try (padding + "agents:\n  - id: mary\n    name: Anna\n").write(toFile: path, atomically: true, encoding: .utf8)
        guard case .reloaded(let configuration) = store.reload() else {
            Issue.record("the renamed agent was not picked up")
            return
        }
        #expect(configuration.agents.map(\.name) == ["Anna"])
        #expect(store.generation == 1)
        #expect(store.reload() == .unchanged)
    }

    /// Found in issue 9: a reload decoded the file leniently and accepted bytes that start-up refuses.
    @Test func reloadRefusesANonUTF8FileLikeStartUp() throws {
        let folder = try SidecarProcess.folder(config: "agents:\n  - id: mary\n    name: Mary\n")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("agents.yaml").path
        let store = ConfigurationStore(try MonitorConfiguration(contentsOfFile: path), path: path)
        try Data("agents:\n  - id: mary\n    name: M\u{61}ry \u{FF}\n".utf8.map { $0 == 0xC3 ? 0xFF : $0 }).write(
            to: URL(fileURLWithPath: path)
        )
        #expect(throws: ConfigurationError.self) { try MonitorConfiguration(contentsOfFile: path) }
        guard case .failed(let error) = store.reload() else {
            Issue.record("a non-UTF-8 file was accepted on reload")
            return
        }
        #expect(error.message.contains("not UTF-8"))
        #expect(store.current.agents.map(\.name) == ["Mary"])
    }
}
