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
            Malloc.releaseFreed()
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
        /// Per-agent gauges, made once (a factory lookup each would cost seconds at 100,000 agents);
        /// removed agents' gauges are destroyed.
        var gauges: [String: (up: Gauge, seconds: Gauge)] = [:]
        /// Made once per configuration.
        var checker: HeartbeatChecker?
    }

    func checkAndWrite(_ cycle: inout Cycle) async {
        let started = ContinuousClock.now
        do {
            let configuration = configurations.current
            if cycle.checker?.configuration != configuration {
                cycle.checker = HeartbeatChecker(client: client, configuration: configuration)
            }
            var result = try await cycle.checker!.check()
            if let alerts { result.alertRecords = await alerts.process(result, configuration: configuration) }
            let map = result.map
            // Rendering and fsync take a fifth of a second at 100,000 agents: not on the cooperative pool.
            try await onDedicatedThread(name: "map-writer") { [outputPath] in
                try AtomicFile.write(to: outputPath) { write in try map.render(to: write) }
            }
            status.checked(mapPath: outputPath)
            let summary = map.summary
            let elapsed = ContinuousClock.now - started
            Timer(label: "agent_heartbeat_check_duration_seconds").recordNanoseconds(elapsed.nanoseconds)
            export(result.states, summary: summary, &cycle)
            if cycle.failing { logger.notice("checks recovered") }
            cycle.failing = false
            logger.debug(
                "checked",
                metadata: [
                    "online": "\(summary.onlineAgents)", "offline": "\(summary.offlineAgents)",
                    "unknown": "\(summary.unknownAgents)", "duration_ms": "\(elapsed.wholeMilliseconds)",
                ])
        } catch {
            status.checkFailed("\(error)")
            if !cycle.failing { logger.error("check failed; the previous map stays until a check succeeds", metadata: ["error": "\(error)"]) }
            cycle.failing = true
        }
    }

    /// Agents per status, and per agent (up to `SidecarMetrics.perAgentLimit` agents): up (1 online,
    /// 0 otherwise) and seconds since the last heartbeat.
    func export(_ states: [AgentState], summary: StatusMap.Summary, _ cycle: inout Cycle) {
        for (status, count) in [("online", summary.onlineAgents), ("offline", summary.offlineAgents), ("unknown", summary.unknownAgents)] {
            Gauge(label: "agent_heartbeat_agents", dimensions: [("status", status)]).record(count)
        }
        var current: [String: (up: Gauge, seconds: Gauge)] = [:]
        let perAgent = SidecarMetrics.perAgent(states.count)
        for state in states where perAgent {
            let id = state.agent.id
            let gauges = cycle.gauges[id] ?? (
                Gauge(label: "agent_heartbeat_agent_up", dimensions: [("agent", id)]),
                Gauge(label: "agent_heartbeat_seconds_since_heartbeat", dimensions: [("agent", id)])
            )
            current[id] = gauges
            gauges.up.record(state.status == .online ? 1 : 0)
            if let seconds = state.secondsSinceHeartbeat { gauges.seconds.record(seconds) }
        }
        for (id, gauges) in cycle.gauges where current[id] == nil {
            gauges.up.destroy()
            gauges.seconds.destroy()
        }
        cycle.gauges = current
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
