import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers

/// Holds or seeks the leader lock and, on the leader, queues the notifications the policy finds
/// due, one queue per receiver, recording each agent's alert state in the same step; the
/// receivers' `DeliveryWorker`s deliver them.
///
/// Runs beside the check loop (`run`), fed the latest check: a silent receiver delays its own
/// notifications, never the checks, the map, the metrics or the other receivers. Only a replica
/// that can deliver (a notifier, or a watchdog to ping) and is not degraded competes for the lock.
public actor AlertDispatcher {
    let client: RedisClient
    let notifiers: [any Notifier]
    let workers: [DeliveryWorker]
    /// Agents' `on_offline` actions, when any agent has some.
    let actions: RecoveryActionRunner?
    let sendTimeout: Duration
    let status: SidecarStatus
    let logger: Logger
    /// Whether this replica competes for the lock: it has a notifier or a watchdog.
    let competes: Bool
    /// Set for the check being processed (the configuration can be reloaded between checks).
    private var configuration = MonitorConfiguration()
    /// What this leader knows of the alert records, with when it learnt it: those it stored (a
    /// check already under way then did not read them, and must not queue the same notification
    /// again), and the alerted ones it read (restored if Redis loses them, so an alerted agent
    /// still gets its reminders and its recovery). Forgotten when leadership is lost.
    private var known: [String: (record: AlertRecord, at: ContinuousClock.Instant)] = [:]
    /// The `notifiers` the receivers were made from, and the last different ones warned about.
    private var notifierSections: (running: [NotifierConfiguration]?, warned: [NotifierConfiguration]?)
    /// The configuration whose removed agents' alert records were last pruned.
    private var prunedFor: MonitorConfiguration?
    /// Unique per process: says who leads, also among containers that share a hostname and PID 1.
    public nonisolated let token: String
    public private(set) var isLeader = false
    /// What the delivery workers read without waiting for the actor (nil while not leading).
    private nonisolated let shared = NIOLockedValueBox<Lead?>(nil)
    private let leaderGauge = Gauge(label: SidecarMetrics.Name.leader)
    private let checks: AsyncStream<Job>
    private let submitted: AsyncStream<Job>.Continuation
    /// Largest number of events queued by one script call (they are queued in order, chunk by chunk).
    static let eventsPerScript = 500

    /// One check to act on.
    struct Job: Sendable {
        var result: HeartbeatChecker.Result
        /// The agents notifications may be about (`HeartbeatChecker.Result.subjects`).
        var subjects: [AgentState]
        var configuration: MonitorConfiguration
        /// Why the data may be stale (see `MirrorStatistics.Snapshot.degradedReason`): no
        /// offline or recovery notification is derived from it.
        var degraded: String?
    }

    /// What a delivery worker needs while this replica leads.
    struct Lead: Sendable {
        var configuration: MonitorConfiguration
        var token: String
        /// The Redis clock the last check read.
        var clock: ServerClock
    }

    public init(
        client: RedisClient,
        notifiers: [any Notifier],
        actions: RecoveryActionRunner? = nil,
        status: SidecarStatus,
        logger: Logger,
        competes: Bool? = nil
    ) {
        self.client = client
        self.notifiers = notifiers
        self.actions = actions
        // The workers' own connection: a queue's reads and removals never wait behind a check.
        let deliveryClient = RedisClient(client.connector, name: "notify-redis")
        workers = notifiers.map { DeliveryWorker(notifier: $0, client: deliveryClient, logger: logger) }
        sendTimeout = notifiers.map(\.timeout).max() ?? .seconds(10)
        self.status = status
        self.logger = logger
        self.competes = competes ?? (!notifiers.isEmpty || actions != nil)
        token = status.lockToken
        // Only the newest check matters: a slow Redis skips the checks that came meanwhile.
        (checks, submitted) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingNewest(1))
        leaderGauge.record(0)
    }

    /// Margin in the lock's TTL for what happens between two renewals besides a send.
    var margin: Duration { min(.seconds(5), configuration.checkInterval) }

    /// The lock is renewed every cycle and before every delivery attempt, so its TTL covers the
    /// longest gap between renewals (a cycle, an attempt) with a cycle to spare.
    var lock: LeaderLock {
        LeaderLock(
            key: configuration.leaderKey,
            token: token,
            ttl: configuration.checkInterval * 2 + sendTimeout + margin
        )
    }

    /// Set for the workers while leading.
    nonisolated var lead: Lead? { shared.withLockedValue { $0 } }

    /// Hands a check to `run`; returns at once.
    nonisolated func submit(
        _ result: HeartbeatChecker.Result,
        subjects: [AgentState],
        configuration: MonitorConfiguration,
        degraded: String?
    ) {
        submitted.yield(Job(result: result, subjects: subjects, configuration: configuration, degraded: degraded))
    }

    /// Acts on submitted checks and delivers queued notifications until cancelled; cancellation
    /// aborts a delivery in flight.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { await worker.run(self) } }
            for await job in checks {
                guard !Task.isCancelled else { break }
                await process(job)
            }
            group.cancelAll()
        }
    }

    func process(_ job: Job) async {
        configuration = job.configuration
        warnIfNotifiersChanged()
        guard competes else {
            await observeLeader()
            return
        }
        if job.degraded != nil {
            // This replica may be missing heartbeats: it does not lead, so a healthy replica takes the
            // lock and notifies. When every replica is degraded (Redis out of memory), nobody does.
            if isLeader {
                logger.notice("degraded: giving up the leader lock to a replica that is not")
                await resign()
            } else {
                await observeLeader()
            }
            return
        }
        guard await renewLeadership() else { return }
        let lead = Lead(configuration: configuration, token: token, clock: job.result.clock)
        shared.withLockedValue { $0 = lead }
        if !notifiers.isEmpty { await queue(job.result, subjects: job.subjects) }
        // After queueing: the alert goes out at once, the attempt's result with the next notification.
        await actions?.start(job.subjects, lead: lead, now: job.result.now)
        await pruneRemovedAgents()
    }

    /// Receivers are made once, at start-up (with their secrets, threads and metrics): a reload
    /// that changes them is told to need a restart.
    private func warnIfNotifiersChanged() {
        let section = configuration.notifiers
        guard let running = notifierSections.running else {
            notifierSections.running = section
            return
        }
        guard section != running, section != notifierSections.warned else { return }
        notifierSections.warned = section
        logger.warning("agents.yaml's notifiers changed: restart the sidecar to apply them; the running ones stay")
    }

    /// Queues what the policy finds due, for each receiver its events, in its format.
    private func queue(_ result: HeartbeatChecker.Result, subjects: [AgentState]) async {
        let policy = AlertPolicy(cooldown: configuration.alertCooldown)
        let records = await merge(result)
        var events = policy.events(
            states: subjects,
            groups: result.assessment.groups,
            records: records,
            now: result.now
        )
        if let actions {
            let acting = events.compactMap(\.state).filter { !$0.rules.onOffline.isEmpty }
            let notes = await actions.notes(for: acting, configuration: configuration)
            for index in events.indices { events[index].note = events[index].state.flatMap { notes[$0.agent.id] } }
        }
        let idPrefix = "\(result.now)-\(UInt32.random(in: 0...UInt32.max))"
        let pending = events.contains { $0.kind == .reminder } ? await pendingSubjects() : [:]
        for start in stride(from: 0, to: events.count, by: Self.eventsPerScript) {
            let chunk = Array(events[start..<min(start + Self.eventsPerScript, events.count)])
            var queues: [(DeliveryWorker, [QueuedNotification])] = []
            for worker in workers {
                let name = worker.notifier.name
                // A receiver that has not yet got the alert (it is down, or slow) gets no reminder on top.
                let routed = chunk.filter { event in
                    receivers(of: event).contains(name)
                        && !(event.kind == .reminder && pending[name]?.contains(event.field) == true)
                }
                guard !routed.isEmpty else { continue }
                let rendered = QueuedNotification.render(
                    routed,
                    for: worker.notifier.kind,
                    now: result.now,
                    idPrefix: "\(idPrefix)-\(start / Self.eventsPerScript)",
                    keyPrefix: configuration.keyPrefix,
                    source: status.replicaName
                )
                queues.append((worker, rendered))
            }
            guard await enqueue(chunk, queues), !Task.isCancelled else { return }
            for (worker, _) in queues { worker.wake() }
        }
    }

    /// For each receiver, the agents and groups its queue still holds a notification about; empty
    /// when the queues cannot be read (a reminder too many beats one missing).
    private func pendingSubjects() async -> [String: Set<String>] {
        let keys = workers.map { configuration.queueKey(notifier: $0.notifier.name) }
        let replies = try? await client.withConnection { connection throws(RedisError) in
            try connection.pipeline(keys.map { RedisCommand("LRANGE", $0, "0", "-1") })
        }
        var pending: [String: Set<String>] = [:]
        for (worker, reply) in zip(workers, replies ?? []) {
            let entries = reply.array?.compactMap { $0.text.flatMap(QueuedNotification.init(encoded:)) } ?? []
            pending[worker.notifier.name] = Set(entries.flatMap(\.subjects))
        }
        return pending
    }

    /// The names of the receivers told about an event's agent or group.
    private func receivers(of event: AlertPolicy.Event) -> [String] {
        let named: [String]? =
            switch event.subject {
            case .agent(let state): state.rules.notify
            case .group(let group): group.group.notify
            }
        return configuration.receivers(named: named) ?? notifiers.map(\.name)
    }

    /// Queues the notifications and stores the events' records in one fenced step. False when
    /// not done (the events are due again at the next check).
    private func enqueue(
        _ events: [AlertPolicy.Event],
        _ queues: [(DeliveryWorker, [QueuedNotification])]
    ) async -> Bool {
        let records = events.map { ($0.field, $0.recordAfterDelivery) }
        let keys =
            [configuration.leaderKey, configuration.alertsKey]
            + queues.map { configuration.queueKey(notifier: $0.0.notifier.name) }
        var arguments = [token, String(records.count)] + records.flatMap { [$0.0, $0.1.encoded] }
        for (_, notifications) in queues { arguments += [String(notifications.count)] + notifications.map(\.encoded) }
        let command = RedisCommand.eval(.enqueueNotifications, keys: keys, arguments: arguments)
        do {
            let stored = try await client.withConnection { connection throws(RedisError) in
                try connection.call(command).integer == 1
            }
            guard stored else {
                logger.warning("lost the leader lock before queueing notifications")
                return false
            }
            for (field, record) in records { known[field] = (record, .now) }
            logger.info(
                "notifications queued",
                metadata: [
                    "events": "\(events.count)",
                    "receivers": "\(queues.map { "\($0.0.notifier.name):\($0.1.count)" }.joined(separator: ","))",
                ]
            )
            return true
        } catch {
            logger.error("could not queue notifications; due again next check", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// The records to act on: what the check read, what this leader stored since the read began,
    /// and what Redis lost (written back, fenced by the lock).
    private func merge(_ result: HeartbeatChecker.Result) async -> [String: AlertRecord] {
        let read = result.alertRecords
        var records = read
        var lost: [(String, AlertRecord)] = []
        lazy var configured = configuration.alertFields  // only when Redis lost something
        for (id, entry) in known {
            if entry.at >= result.requestedAt {
                records[id] = entry.record
            } else if read[id] == nil, entry.record.alerted, configured.contains(id) {
                records[id] = entry.record
                lost.append((id, entry.record))
            } else {
                known[id] = nil
            }
        }
        for (id, record) in read where record.alerted && (known[id].map { $0.at < result.requestedAt } ?? true) {
            known[id] = (record, result.requestedAt)
        }
        if !lost.isEmpty {
            logger.warning(
                "Redis lost alert records; restoring what this leader knew",
                metadata: ["count": "\(lost.count)"]
            )
            _ = await store(lost)
        }
        return records
    }

    /// Releases the lock on graceful shutdown so another replica takes over at once.
    public func resign() async {
        guard isLeader else { return }
        let lock = lock
        do {
            try await client.withConnection { connection throws(RedisError) in try lock.release(on: connection) }
            logger.info("released the leader lock")
        } catch {
            logger.warning("could not release the leader lock; it expires by itself", metadata: ["error": "\(error)"])
        }
        status.leader(nil)
        setLeader(false)
    }

    /// Takes or renews the lock; true while this replica leads. Called every cycle and by the
    /// delivery workers before every attempt.
    func renewLeadership() async -> Bool {
        let lock = lock
        let holder: String?
        do {
            holder = try await client.withConnection { connection throws(RedisError) in
                try lock.acquireOrRenew(on: connection)
            }
        } catch {
            // Redis unreachable: leadership is unknown, and nothing is sent without it.
            setLeader(false)
            return false
        }
        status.leader(holder)
        setLeader(holder == lock.token)
        return isLeader
    }

    /// A replica that does not compete still shows who leads.
    private func observeLeader() async {
        let key = configuration.leaderKey
        let holder = try? await client.withConnection { connection throws(RedisError) in
            try connection.call(.get(key)).text
        }
        if let holder { status.leader(holder) }
    }

    private func setLeader(_ holds: Bool) {
        // Another replica may change the records meanwhile: what this one knew is no longer sure.
        if !holds {
            known = [:]
            shared.withLockedValue { $0 = nil }
        }
        if holds != isLeader {
            logger.notice(holds ? "became the leader: this replica sends notifications" : "lost the leader lock")
        }
        isLeader = holds
        leaderGauge.record(holds ? 1 : 0)
    }

    /// HSETs records while holding the lock, and remembers them (see `known`).
    private func store(_ records: [(String, AlertRecord)]) async -> Bool {
        let lock = lock
        let key = configuration.alertsKey
        let fields = records.flatMap { [$0.0, $0.1.encoded] }
        do {
            let stored = try await client.withConnection { connection throws(RedisError) in
                try lock.store(fields, in: key, on: connection)
            }
            if stored {
                for (id, record) in records { known[id] = (record, .now) }
            } else {
                logger.warning("lost the leader lock before recording alert state")
            }
            return stored
        } catch {
            logger.error("could not record the alert state", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Deletes the alert records of agents (and groups) no longer configured, once per configuration, so an
    /// agent removed and added back later starts afresh instead of getting a stale recovery.
    private func pruneRemovedAgents() async {
        guard prunedFor != configuration else { return }
        let key = configuration.alertsKey
        let ids = configuration.alertFields
        do {
            let removed = try await client.withConnection { connection throws(RedisError) in
                try connection.hashFields(key).filter { !ids.contains($0) }
            }
            for start in stride(from: 0, to: removed.count, by: 1000) {
                let chunk = Array(removed[start..<min(start + 1000, removed.count)])
                _ = try await client.withConnection { connection throws(RedisError) in
                    try connection.call(.hdel(key, chunk))
                }
            }
            if !removed.isEmpty {
                logger.info("pruned alert records of removed agents", metadata: ["count": "\(removed.count)"])
            }
            prunedFor = configuration
        } catch {
            logger.warning("could not prune alert records of removed agents", metadata: ["error": "\(error)"])
        }
    }
}

extension MonitorConfiguration {
    /// The fields alert records may have: agent ids and `group:<id>`.
    var alertFields: Set<String> {
        Set(agents.map(\.id)).union(groups.map { Self.groupAlertField($0.id) })
    }
}
