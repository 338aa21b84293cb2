import AgentHeartbeatCore
import AgentHeartbeatRedis
import Logging
import Metrics
import ServiceLifecycle

/// Checks every `check_interval_seconds` (the first right away) and writes the status map; picks
/// up a changed agents.yaml first. Notifications go out beside it (`AlertDispatcher.run`), so a
/// slow receiver never stretches a cycle.
///
/// Graceful shutdown is bounded (`shutdownBudget`) whatever Redis or the receiver do: a delivery
/// in flight is aborted, a final map is written without notifying, the leader lock released.
public struct StatusCheckService: Service, CustomStringConvertible {
    let client: RedisClient
    let configurations: ConfigurationStore
    let alerts: AlertDispatcher?
    let mirror: MirrorStatistics?
    let watchdog: Watchdog?
    let status: SidecarStatus
    let outputPath: String
    let logger: Logger
    /// Where freed memory is returned to the system: blocking work. (The map is written by the
    /// checker's connection thread as it reads, see `HeartbeatChecker.check(writingMapTo:…)`.)
    let memory = JobThread(name: "memory")
    public var description: String { "StatusCheckService" }

    /// How long each shutdown step may take: the aborted delivery, the final check and map, the
    /// lock release. With the mirror's flush (`HeartbeatMirror.flushBudget`) under 10 s in all.
    static let shutdownBudget = (
        delivery: Duration.seconds(1), finalMap: Duration.seconds(3), release: Duration.seconds(2)
    )

    public init(
        client: RedisClient,
        configurations: ConfigurationStore,
        alerts: AlertDispatcher?,
        mirror: MirrorStatistics? = nil,
        watchdog: Watchdog? = nil,
        status: SidecarStatus,
        outputPath: String,
        logger: Logger
    ) {
        self.client = client
        self.configurations = configurations
        self.alerts = alerts
        self.mirror = mirror
        self.watchdog = watchdog
        self.status = status
        self.outputPath = outputPath
        self.logger = logger
    }

    public func run() async throws {
        let delivering = alerts.map { alerts in Task { await alerts.run() } }
        await waitForSubscription()
        var cycle = Cycle()
        var migrated = false
        while !Task.isCancelled {
            await configurations.reload(logger: logger)
            if !migrated { migrated = await migrateKeyLayout() }
            await checkAndWrite(&cycle, notify: true)
            _ = try? await memory.run { Malloc.releaseFreed() }
            do {
                let interval = configurations.current.checkInterval
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
        }
        let budget = Self.shutdownBudget
        delivering?.cancel()
        if let delivering, await withDeadline(budget.delivery, { await delivering.value }) == nil {
            logger.warning("a notification was still being sent at shutdown; abandoned")
        }
        let finalMap: @Sendable () async -> Bool = { [self, cycle] in
            var final = cycle
            await checkAndWrite(&final, notify: false)
            return true
        }
        if await withDeadline(budget.finalMap, finalMap) == nil {
            logger.warning("no final map: Redis did not answer within \(budget.finalMap)")
        }
        if let alerts, await withDeadline(budget.release, { await alerts.resign() }) == nil {
            logger.warning("leader lock not released: Redis did not answer; it expires by itself")
        }
        // Not awaited: with Redis frozen, the client's thread may still be waiting for a reply.
        Task { [client] in await client.close() }
    }

    /// The first check waits up to `firstCheckWait` for the mirror's subscriptions, which usually
    /// take milliseconds: checked sooner, the first map would say "degraded" for a whole interval.
    static let firstCheckWait = Duration.seconds(5)

    private func waitForSubscription() async {
        guard let mirror else { return }
        let deadline = ContinuousClock.now + Self.firstCheckWait
        while !mirror.snapshot.isListening, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// State carried from one check to the next.
    struct Cycle: Sendable {
        /// Logs the first failure of an outage and the recovery, not every cycle in between.
        var failing = false
        /// The degradation last logged, so it is logged when it starts and ends.
        var degraded: String?
        /// Per-agent gauges, made once (a factory lookup each would cost seconds at 100,000 agents);
        /// removed agents' gauges are destroyed.
        var gauges: [String: AgentGauges] = [:]
        /// Per-group gauges, likewise.
        var groupGauges: [String: (online: Gauge, minimum: Gauge, below: Gauge)] = [:]
        /// Made once per configuration.
        var checker: HeartbeatChecker?
        var history = HistoryRecorder()
        /// Logs the first failure to record history and the recovery.
        var historyFailing = false
    }

    func checkAndWrite(_ cycle: inout Cycle, notify: Bool) async {
        let started = ContinuousClock.now
        do {
            let configuration = configurations.current
            if cycle.checker?.configuration != configuration {
                cycle.checker = HeartbeatChecker(client: client, configuration: configuration)
            }
            // Degraded before or after the read: heartbeats may be missing from what was read.
            let degradedBefore = mirror?.snapshot.degradedReason
            // Silence while this replica was not listening, or held heartbeats not yet stored,
            // proves nothing (see `ListeningGaps`).
            let check = try await cycle.checker!.check(
                writingMapTo: outputPath,
                mirror: mirror,
                degraded: { [mirror] in degradedBefore ?? mirror?.snapshot.degradedReason }
            )
            let (result, degraded) = (check.result, check.degraded)
            if notify, let alerts {
                // Only the agents the policy can act on: the rest would keep every payload alive
                // until the dispatcher is done.
                var relevant = result
                relevant.states = result.states.subset([])
                alerts.submit(
                    relevant,
                    subjects: result.subjects(uncertain: check.uncertain),
                    configuration: configuration,
                    degraded: degraded
                )
            }
            // Notifications go out even when the map cannot be written; the check counts as failed.
            if let failure = check.mapFailure { throw failure }
            status.checked(mapPath: outputPath)
            status.published(
                AgentCatalog(states: result.states, assessment: result.assessment, configuration: configuration)
            )
            let summary = StatusMap.Summary(states: result.states)
            let elapsed = ContinuousClock.now - started
            Timer(label: SidecarMetrics.Name.checkDuration).recordNanoseconds(elapsed.nanoseconds)
            Gauge(label: SidecarMetrics.Name.degraded).record(degraded == nil ? 0 : 1)
            if let mirror = mirror?.snapshot {
                Gauge(label: SidecarMetrics.Name.subscribedChannels).record(mirror.subscribedChannels)
                Gauge(label: SidecarMetrics.Name.expectedChannels).record(max(0, mirror.expectedChannels))
                let unstored = mirror.unstoredFor.map { Double($0.nanoseconds) / 1e9 } ?? 0
                Gauge(label: SidecarMetrics.Name.unstoredSeconds).record(unstored)
            }
            export(result.states, summary: summary, &cycle)
            export(result.assessment, &cycle)
            // A degraded replica may be missing heartbeats: what it saw is not history.
            if degraded == nil { await recordHistory(check, configuration: configuration, &cycle) }
            if cycle.failing { logger.notice("checks recovered") }
            cycle.failing = false
            if degraded != cycle.degraded {
                if let degraded {
                    logger.error(
                        "degraded: offline and recovery notifications held",
                        metadata: ["reason": "\(degraded)"]
                    )
                } else {
                    logger.notice("no longer degraded: notifications resume")
                }
                cycle.degraded = degraded
            }
            if notify, status.isLeader { watchdog?.ping(healthy: degraded == nil) }
            logger.debug(
                "checked",
                metadata: [
                    "online": "\(summary.onlineAgents)", "offline": "\(summary.offlineAgents)",
                    "unknown": "\(summary.unknownAgents)", "duration_ms": "\(elapsed.wholeMilliseconds)",
                ]
            )
        } catch {
            status.checkFailed("\(error)")
            // The last known leader reports the failure: with Redis down nobody can take the lock.
            if notify, status.isLeader { watchdog?.ping(healthy: false) }
            if !cycle.failing {
                logger.error(
                    "check failed; the previous map stays until a check succeeds",
                    metadata: ["error": "\(error)"]
                )
            }
            cycle.failing = true
        }
    }

    func recordHistory(
        _ check: HeartbeatChecker.MapCheck,
        configuration: MonitorConfiguration,
        _ cycle: inout Cycle
    ) async {
        let started = ContinuousClock.now
        do {
            let sent = try await cycle.history.record(check, configuration: configuration, client: client)
            if sent > 0 {
                let elapsed = (ContinuousClock.now - started).wholeMilliseconds
                logger.debug("state changes recorded", metadata: ["agents": "\(sent)", "duration_ms": "\(elapsed)"])
            }
            if cycle.historyFailing { logger.notice("state changes recorded again") }
            cycle.historyFailing = false
        } catch {
            Counter(label: SidecarMetrics.Name.historyFailures).increment()
            // The map and the notifications do not depend on it: the next check tries again.
            if !cycle.historyFailing {
                logger.error("could not record state changes; retrying at each check", metadata: ["error": "\(error)"])
            }
            cycle.historyFailing = true
        }
    }

    /// One agent's series: up, seconds since its heartbeat, its condition (one series, labelled
    /// with the current one: a change destroys the old one) and its learned interval.
    struct AgentGauges {
        var up: Gauge
        var seconds: Gauge
        var condition: (AgentCondition, Gauge)?
        var interval: Gauge
        /// Declared metrics (`metrics`), by name; a metric the payload no longer holds is removed.
        var metrics: [String: Gauge] = [:]

        init(id: String) {
            up = Gauge(label: SidecarMetrics.Name.agentUp, dimensions: [("agent", id)])
            seconds = Gauge(label: SidecarMetrics.Name.secondsSinceHeartbeat, dimensions: [("agent", id)])
            interval = Gauge(label: SidecarMetrics.Name.agentExpectedInterval, dimensions: [("agent", id)])
        }

        mutating func record(_ evaluation: AgentState.Evaluation, id: String) {
            up.record(evaluation.status == .online ? 1 : 0)
            if let value = evaluation.secondsSinceHeartbeat { seconds.record(value) }
            interval.record(Double(evaluation.expectedInterval) / 1000)
            if condition?.0 != evaluation.condition {
                condition?.1.destroy()
                let gauge = Gauge(
                    label: SidecarMetrics.Name.agentCondition,
                    dimensions: [("agent", id), ("condition", evaluation.condition.rawValue)]
                )
                condition = (evaluation.condition, gauge)
            }
            condition?.1.record(1)
        }

        mutating func record(metrics values: [String: Double], id: String) {
            for (name, gauge) in metrics where values[name] == nil {
                gauge.destroy()
                metrics[name] = nil
            }
            for (name, value) in values {
                let gauge =
                    metrics[name]
                    ?? Gauge(label: SidecarMetrics.Name.agentMetric, dimensions: [("agent", id), ("metric", name)])
                gauge.record(value)
                metrics[name] = gauge
            }
        }

        func destroy() {
            up.destroy()
            seconds.destroy()
            interval.destroy()
            condition?.1.destroy()
            for gauge in metrics.values { gauge.destroy() }
        }
    }

    /// Agents per status and per condition, and per agent (up to `SidecarMetrics.perAgentLimit`
    /// agents): up (1 online, 0 otherwise), seconds since the last heartbeat, condition, interval.
    func export(_ states: AgentStates, summary: StatusMap.Summary, _ cycle: inout Cycle) {
        for (status, count) in [
            ("online", summary.onlineAgents), ("offline", summary.offlineAgents), ("unknown", summary.unknownAgents),
        ] {
            Gauge(label: SidecarMetrics.Name.agents, dimensions: [("status", status)]).record(count)
        }
        // The summary counted them already: late, failing and flapping agents are online by status.
        let (late, failing, flapping) = (
            summary.lateAgents ?? 0, summary.failingAgents ?? 0, summary.flappingAgents ?? 0
        )
        for (condition, count) in [
            (AgentCondition.online, summary.onlineAgents - late - failing - flapping), (.late, late),
            (.failing, failing), (.flapping, flapping), (.offline, summary.offlineAgents),
            (.unknown, summary.unknownAgents),
        ] {
            Gauge(label: SidecarMetrics.Name.agentsByCondition, dimensions: [("condition", condition.rawValue)])
                .record(count)
        }
        var current: [String: AgentGauges] = [:]
        for index in SidecarMetrics.perAgent(states.count) ? states.indices : 0..<0 {
            let id = states.agents[index].id
            var gauges = cycle.gauges[id] ?? AgentGauges(id: id)
            gauges.record(states.evaluations[index], id: id)
            let names = states.rules[Int(states.agents[index].rulesIndex)].metrics
            if !names.isEmpty || !gauges.metrics.isEmpty {
                let values = states.payload(at: index).map { AgentCatalog.metrics(names, in: $0) } ?? [:]
                gauges.record(metrics: values, id: id)
            }
            current[id] = gauges
        }
        for (id, gauges) in cycle.gauges where current[id] == nil { gauges.destroy() }
        cycle.gauges = current
    }

    /// Silenced and suppressed agents, and each group's members online, quorum and state.
    func export(_ assessment: Assessment, _ cycle: inout Cycle) {
        Gauge(label: SidecarMetrics.Name.agentsSilenced).record(assessment.silenced.count)
        Gauge(label: SidecarMetrics.Name.agentsSuppressed).record(assessment.suppressedBy.count)
        var current: [String: (online: Gauge, minimum: Gauge, below: Gauge)] = [:]
        for state in assessment.groups {
            let id = state.group.id
            let gauges =
                cycle.groupGauges[id] ?? (
                    Gauge(label: SidecarMetrics.Name.groupOnline, dimensions: [("group", id)]),
                    Gauge(label: SidecarMetrics.Name.groupMinOnline, dimensions: [("group", id)]),
                    Gauge(label: SidecarMetrics.Name.groupBelowQuorum, dimensions: [("group", id)])
                )
            gauges.online.record(state.online)
            gauges.minimum.record(state.group.minOnline)
            gauges.below.record(state.status == .belowQuorum ? 1 : 0)
            current[id] = gauges
        }
        for (id, gauges) in cycle.groupGauges where current[id] == nil {
            gauges.online.destroy()
            gauges.minimum.destroy()
            gauges.below.destroy()
        }
        cycle.groupGauges = current
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

extension StatusCheckService {
    /// Moves keys named before the hash tag (see `KeyLayoutMigration`). Returns whether it is done.
    func migrateKeyLayout() async -> Bool {
        let configuration = configurations.current
        do {
            let connector = client.connector
            let moved = try await client.withConnection { connection throws(RedisError) in
                // Older versions never ran on a cluster: their names would span slots.
                connector.isCluster ? 0 : try KeyLayoutMigration.run(configuration, on: connection)
            }
            if moved > 0 {
                logger.notice(
                    "moved keys to their {key_prefix} names",
                    metadata: ["keys": "\(moved)", "tag": "\(configuration.keyTag)"]
                )
            }
            return true
        } catch {
            logger.warning("could not move keys to their {key_prefix} names yet", metadata: ["error": "\(error)"])
            return false
        }
    }
}
