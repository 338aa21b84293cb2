import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Logging
import Metrics

/// Holds or seeks the leader lock and, on the leader, sends the notifications the policy finds due,
/// recording each agent's alert state only once its message was delivered.
///
/// Runs beside the check loop (`run`), fed the latest check: a silent Bot API delays
/// notifications, never the checks, the map or the metrics. Only a replica that can deliver
/// (a notifier, or a watchdog to ping) and is not degraded competes for the lock.
public actor AlertDispatcher {
    let client: RedisClient
    let notifier: (any Notifier)?
    let sendTimeout: Duration
    let status: SidecarStatus
    let logger: Logger
    /// Whether this replica competes for the lock: it has a notifier or a watchdog.
    let competes: Bool
    static let attemptsPerCycle = 3
    /// Set for the check being processed (the configuration can be reloaded between checks).
    private var configuration = MonitorConfiguration()
    /// What this leader knows of the alert records, with when it learnt it: those it stored (a
    /// check already under way then did not read them, and must not send the same notification
    /// again), and the alerted ones it read (restored if Redis loses them, so an alerted agent
    /// still gets its reminders and its recovery). Forgotten when leadership is lost.
    private var known: [String: (record: AlertRecord, at: ContinuousClock.Instant)] = [:]
    /// The configuration whose removed agents' alert records were last pruned.
    private var prunedFor: MonitorConfiguration?
    /// Unique per process: says who leads, also among containers that share a hostname and PID 1.
    public nonisolated let token: String
    public private(set) var isLeader = false
    private let leaderGauge = Gauge(label: SidecarMetrics.Name.leader)
    private let sent = Counter(label: SidecarMetrics.Name.notificationsSent)
    private let failed = Counter(label: SidecarMetrics.Name.notificationsFailed)
    private let rejected = Counter(label: SidecarMetrics.Name.notificationsRejected)
    private let checks: AsyncStream<Job>
    private let submitted: AsyncStream<Job>.Continuation

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

    /// `sendTimeout` bounds one delivery attempt (see `lock`).
    public init(
        client: RedisClient,
        notifier: (any Notifier)?,
        sendTimeout: Duration,
        status: SidecarStatus,
        logger: Logger,
        competes: Bool? = nil
    ) {
        self.client = client
        self.notifier = notifier
        self.sendTimeout = sendTimeout
        self.status = status
        self.logger = logger
        self.competes = competes ?? (notifier != nil)
        token = status.lockToken
        // Only the newest check matters: a slow delivery skips the checks that came meanwhile.
        (checks, submitted) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingNewest(1))
        leaderGauge.record(0)
    }

    /// Longest wait between two attempts inside one cycle; longer waits (429) span cycles.
    var maximumRetryPause: Duration { min(.seconds(5), configuration.checkInterval) }

    /// The lock is renewed every cycle and before every attempt, so its TTL covers the longest gap
    /// between renewals (a cycle, an attempt, a pause) with a cycle to spare.
    var lock: LeaderLock {
        LeaderLock(
            key: configuration.leaderKey,
            token: token,
            ttl: configuration.checkInterval * 2 + sendTimeout + maximumRetryPause
        )
    }

    /// Hands a check to `run`; returns at once.
    nonisolated func submit(
        _ result: HeartbeatChecker.Result,
        subjects: [AgentState],
        configuration: MonitorConfiguration,
        degraded: String?
    ) {
        submitted.yield(Job(result: result, subjects: subjects, configuration: configuration, degraded: degraded))
    }

    /// Acts on submitted checks until cancelled; cancellation aborts a delivery in flight.
    func run() async {
        for await job in checks {
            guard !Task.isCancelled else { return }
            await process(job)
        }
    }

    func process(_ job: Job) async {
        configuration = job.configuration
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
        if let notifier { await notify(job.result, subjects: job.subjects, with: notifier) }
        await pruneRemovedAgents()
    }

    private func notify(_ result: HeartbeatChecker.Result, subjects: [AgentState], with notifier: any Notifier) async {
        let policy = AlertPolicy(cooldown: configuration.alertCooldown)
        let records = await merge(result)
        let events = policy.events(
            states: subjects,
            groups: result.assessment.groups,
            records: records,
            now: result.now
        )
        for message in AlertMessage.render(events, now: result.now) {
            // In order: what is not delivered now is due again next cycle. A message the service
            // refuses for itself is recorded as told (and counted, logged), so it cannot block the rest.
            guard await deliver(message, with: notifier, result: result), !Task.isCancelled else { return }
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

    private func renewLeadership() async -> Bool {
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
        if !holds { known = [:] }
        if holds != isLeader {
            logger.notice(holds ? "became the leader: this replica sends notifications" : "lost the leader lock")
        }
        isLeader = holds
        leaderGauge.record(holds ? 1 : 0)
    }

    /// Tries a few times with backoff, honouring Telegram's retry_after (shared through Redis, so a
    /// new leader honours it too); records the alert state once delivered or refused for good.
    /// False when the message is still due.
    private func deliver(
        _ message: AlertMessage,
        with notifier: any Notifier,
        result: HeartbeatChecker.Result
    ) async -> Bool {
        let retryKey = configuration.retryAfterKey(notifier: notifier.name)
        var backoff = Backoff(initial: .milliseconds(500), maximum: maximumRetryPause)
        let agents = message.events.map(\.field).joined(separator: ",")
        for attempt in 1...Self.attemptsPerCycle {
            let wait = try? await client.withConnection { connection throws(RedisError) in
                try connection.call(.pttl(retryKey)).integer
            }
            if let wait = wait ?? nil, wait > 0 {
                guard Duration.milliseconds(wait) <= maximumRetryPause else { return false }
                try? await Task.sleep(for: .milliseconds(wait))
            }
            guard !Task.isCancelled, await renewLeadership() else { return false }
            switch await notifier.deliver(message) {
            case .delivered:
                sent.increment()
                logger.info(
                    "notification delivered",
                    metadata: [
                        "notifier": "\(notifier.name)", "events": "\(message.events.map(\.kind.rawValue))",
                        "agents": "\(agents)",
                    ]
                )
                return await record(message.events, at: result.serverMilliseconds(at: .now))
            case .rejected(let reason):
                rejected.increment()
                logger.error(
                    "notification refused for good; recorded as told so the others go on",
                    metadata: ["notifier": "\(notifier.name)", "reason": "\(reason)", "agents": "\(agents)"]
                )
                return await record(message.events, at: result.serverMilliseconds(at: .now))
            case .failed(let reason, let retryable, let retryAfter):
                failed.increment()
                logger.warning(
                    "notification not delivered",
                    metadata: [
                        "notifier": "\(notifier.name)", "reason": "\(reason)", "attempt": "\(attempt)",
                        "retryable": "\(retryable)",
                        "agents": "\(agents)",
                    ]
                )
                if let retryAfter {
                    _ = try? await client.withConnection { connection throws(RedisError) in
                        try connection.call(.setExpiring(retryKey, "1", milliseconds: retryAfter.wholeMilliseconds))
                    }
                }
                guard retryable, attempt < Self.attemptsPerCycle, !Task.isCancelled else { return false }
                if retryAfter == nil { try? await Task.sleep(for: backoff.next()) }
            }
        }
        return false
    }

    /// Stores the events' records, fenced by the lock: a paused ex-leader cannot overwrite its
    /// successor's records. The cooldown counts from `deliveredAt` (Redis clock), not from the
    /// check: retries and a slow receiver can put seconds between the two.
    /// False when not stored (the next cycle may repeat the message: at least once).
    private func record(_ events: [AlertPolicy.Event], at deliveredAt: Int64) async -> Bool {
        let records = events.map { event in
            var record = event.recordAfterDelivery
            if event.kind != .recovery { record.lastNotified = deliveredAt }
            return (event.field, record)
        }
        return await store(records)
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
