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
}
