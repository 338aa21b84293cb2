import AgentHeartbeatCore
import Logging
import Metrics

extension ConfigurationStore {
    /// Reloads (see `reload(force:)`) on the store's thread, since reading and parsing a large
    /// agents.yaml blocks; logs what happened and counts it in
    /// `agent_heartbeat_config_reloads_total{result="ok|failed"}`.
    @discardableResult
    public func reload(force: Bool = false, logger: Logger) async -> ReloadOutcome {
        guard let outcome = try? await reader.run({ self.reload(force: force) }) else { return .unchanged }
        switch outcome {
        case .unchanged:
            break
        case .reloaded(let configuration):
            Counter(label: SidecarMetrics.Name.configReloads, dimensions: [("result", "ok")]).increment()
            logger.notice(
                "configuration reloaded",
                metadata: ["agents": "\(configuration.agents.count)", "file": "\(path ?? "")"]
            )
        case .failed(let error):
            Counter(label: SidecarMetrics.Name.configReloads, dimensions: [("result", "failed")]).increment()
            logger.error(
                "configuration not reloaded; keeping the running one",
                metadata: ["error": "\(error)", "line": "\(error.line)", "column": "\(error.column)"]
            )
        }
        return outcome
    }
}
