import AgentHeartbeatCore
import Logging
import Metrics
import ServiceLifecycle

/// Checks every `check_interval_seconds` (the first right away) and writes the status map; picks
/// up a changed agents.yaml first. On graceful shutdown it writes a final map, releases the leader
/// lock and closes its connection.
public struct StatusCheckService: Service, CustomStringConvertible {
    let client: RedisClient
    let configurations: ConfigurationStore
    let alerts: AlertDispatcher?
    let status: SidecarStatus
    let outputPath: String
    let logger: Logger
    public var description: String { "StatusCheckService" }

    public init(
        client: RedisClient, configurations: ConfigurationStore, alerts: AlertDispatcher?, status: SidecarStatus,
        outputPath: String, logger: Logger
    ) {
        self.client = client
        self.configurations = configurations
        self.alerts = alerts
        self.status = status
        self.outputPath = outputPath
        self.logger = logger
    }

    public func run() async throws {
        var cycle = Cycle()
        while !Task.isCancelled {
            configurations.reload(logger: logger)
            await checkAndWrite(&cycle)
            do {
                let interval = configurations.current.checkInterval
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
        }
        await checkAndWrite(&cycle)
        await alerts?.resign()
        await client.close()
    }

    /// State carried from one check to the next.
    struct Cycle {
        /// Logs the first failure of an outage and the recovery, not every cycle in between.
        var failing = false
        /// Agents whose per-agent gauges exist, so removed agents' gauges are dropped.
        var gaugedAgents: Set<String> = []
    }

    func checkAndWrite(_ cycle: inout Cycle) async {
        let started = ContinuousClock.now
        do {
            let configuration = configurations.current
            var result = try await HeartbeatChecker(client: client, configuration: configuration).check()
            if let alerts { result.alertRecords = await alerts.process(result, configuration: configuration) }
            let data = try result.map.jsonData()
            try AtomicFile.write(data, to: outputPath)
            status.checked(map: data)
            Timer(label: "agent_heartbeat_check_duration_seconds").recordInterval(since: started)
            export(result.states, &cycle)
            if cycle.failing { logger.notice("checks recovered") }
            cycle.failing = false
            let summary = result.map.summary
            logger.debug(
                "checked",
                metadata: [
                    "online": "\(summary.onlineAgents)", "offline": "\(summary.offlineAgents)", "unknown": "\(summary.unknownAgents)",
                ])
        } catch {
            status.checkFailed("\(error)")
            if !cycle.failing { logger.error("check failed; the previous map stays until a check succeeds", metadata: ["error": "\(error)"]) }
            cycle.failing = true
        }
    }

    /// Per-agent gauges: up (1 online, 0 otherwise) and seconds since the last heartbeat.
    func export(_ states: [AgentState], _ cycle: inout Cycle) {
        var current: Set<String> = []
        for state in states {
            let id = state.agent.id
            current.insert(id)
            Gauge(label: "agent_heartbeat_agent_up", dimensions: [("agent", id)]).record(state.status == .online ? 1 : 0)
            if let seconds = state.secondsSinceHeartbeat {
                Gauge(label: "agent_heartbeat_seconds_since_heartbeat", dimensions: [("agent", id)]).record(seconds)
            }
        }
        for id in cycle.gaugedAgents.subtracting(current) {
            Gauge(label: "agent_heartbeat_agent_up", dimensions: [("agent", id)]).destroy()
            Gauge(label: "agent_heartbeat_seconds_since_heartbeat", dimensions: [("agent", id)]).destroy()
        }
        cycle.gaugedAgents = current
    }
}

extension Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.wholeMilliseconds * 1_000_000 + Int64(elapsed.components.attoseconds / 1_000_000_000 % 1_000_000))
    }
}
