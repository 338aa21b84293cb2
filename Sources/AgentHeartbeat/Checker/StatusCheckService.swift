import AgentHeartbeatCore
import Logging
import ServiceLifecycle

/// Checks every `check_interval_seconds` (the first right away) and writes the status map;
/// on graceful shutdown it writes a final map and closes its connection.
public struct StatusCheckService: Service, CustomStringConvertible {
    public var description: String { "StatusCheckService" }
    let checker: HeartbeatChecker
    let alerts: AlertDispatcher?
    let outputPath: String
    let logger: Logger

    public init(checker: HeartbeatChecker, alerts: AlertDispatcher?, outputPath: String, logger: Logger) {
        self.checker = checker
        self.alerts = alerts
        self.outputPath = outputPath
        self.logger = logger
    }

    public func run() async throws {
        var failing = false
        while !Task.isCancelled {
            await checkAndWrite(failing: &failing)
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: checker.configuration.checkInterval) }
            } catch {
                break
            }
        }
        await checkAndWrite(failing: &failing)
        await alerts?.resign()
        await checker.client.close()
    }

    /// Logs the first failure of an outage and the recovery, not every cycle in between.
    func checkAndWrite(failing: inout Bool) async {
        do {
            var result = try await checker.check()
            if let alerts { result.alertRecords = await alerts.process(result) }
            try AtomicFile.write(result.map.jsonData(), to: outputPath)
            if failing { logger.notice("checks recovered") }
            failing = false
            let summary = result.map.summary
            logger.debug(
                "checked",
                metadata: [
                    "online": "\(summary.onlineAgents)", "offline": "\(summary.offlineAgents)", "unknown": "\(summary.unknownAgents)",
                ])
        } catch {
            if !failing { logger.error("check failed; the previous map stays until a check succeeds", metadata: ["error": "\(error)"]) }
            failing = true
        }
    }
}
