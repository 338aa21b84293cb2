import AgentHeartbeatCore
import Foundation
import Logging
import Metrics

/// After every check: holds or seeks the leader lock and, on the leader, sends the notifications
/// the policy finds due, recording each agent's alert state only once its message was delivered.
public actor AlertDispatcher {
    let client: RedisClient
    let notifier: (any Notifier)?
    let sendTimeout: Duration
    let status: SidecarStatus
    let logger: Logger
    static let attemptsPerCycle = 3
    /// Set for the cycle being processed (the configuration can be reloaded between cycles).
    private var configuration = MonitorConfiguration()
    private lazy var token = "\(status.replicaName)/\(UUID().uuidString)"
    public private(set) var isLeader = false
    private let leaderGauge = Gauge(label: "agent_heartbeat_leader")
    private let sent = Counter(label: "agent_heartbeat_notifications_sent_total")
    private let failed = Counter(label: "agent_heartbeat_notifications_failed_total")

    /// `sendTimeout` bounds one delivery attempt (see `lock`).
    public init(client: RedisClient, notifier: (any Notifier)?, sendTimeout: Duration, status: SidecarStatus, logger: Logger) {
        self.client = client
        self.notifier = notifier
        self.sendTimeout = sendTimeout
        self.status = status
        self.logger = logger
        leaderGauge.record(0)
    }

    /// Longest wait between two attempts inside one cycle; longer waits (429) span cycles.
    var maximumRetryPause: Duration { min(.seconds(5), configuration.checkInterval) }

    /// The lock is renewed every cycle and before every attempt, so its TTL covers the longest gap
    /// between renewals (a cycle, an attempt, a pause) with a cycle to spare.
    var lock: LeaderLock {
        LeaderLock(key: configuration.leaderKey, token: token, ttl: configuration.checkInterval * 2 + sendTimeout + maximumRetryPause)
    }

    /// Handles one check's result; returns the alert records as they stand afterwards.
    public func process(_ result: HeartbeatChecker.Result, configuration: MonitorConfiguration) async -> [String: AlertRecord] {
        self.configuration = configuration
        var records = result.alertRecords
        guard await renewLeadership(), let notifier else { return records }
        let policy = AlertPolicy(cooldown: configuration.alertCooldown)
        let events = policy.events(states: result.states, records: records, now: result.now)
        for message in AlertMessage.render(events, now: result.now) {
            // In order: what is not delivered now is due again next cycle.
            guard await deliver(message, with: notifier) else { break }
            for event in message.events { records[event.state.agent.id] = event.recordAfterDelivery }
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
        isLeader = false
        leaderGauge.record(0)
    }

    private func renewLeadership() async -> Bool {
        let lock = lock
        let holder = try? await client.withConnection { connection throws(RedisError) in try lock.acquireOrRenew(on: connection) }
        let holds = holder == lock.token
        if holds != isLeader {
            logger.notice(holds ? "became the leader: this replica sends notifications" : "lost the leader lock")
        }
        isLeader = holds
        leaderGauge.record(holds ? 1 : 0)
        // The dashboard names the leader by the replica part of its token.
        status.leader(holder.flatMap { $0.split(separator: "/").first.map(String.init) })
        return holds
    }

    /// Tries a few times with backoff, honouring Telegram's retry_after (shared through Redis, so a
    /// new leader honours it too); records the alert state once delivered. False when not delivered.
    private func deliver(_ message: AlertMessage, with notifier: any Notifier) async -> Bool {
        let retryKey = "\(configuration.keyPrefix):notify:\(notifier.name):retry_after"
        var backoff = ReconnectBackoff(initial: .milliseconds(500), maximum: maximumRetryPause)
        let agents = message.events.map(\.state.agent.id).joined(separator: ",")
        for attempt in 1...Self.attemptsPerCycle {
            let wait = (try? await client.withConnection { connection throws(RedisError) in try connection.call(RedisCommand("PTTL", retryKey)).integer }) ?? nil
            if let wait, wait > 0 {
                guard Duration.milliseconds(wait) <= maximumRetryPause else { return false }
                try? await Task.sleep(for: .milliseconds(wait))
            }
            guard await renewLeadership() else { return false }
            switch await notifier.deliver(message) {
            case .delivered:
                do {
                    try await store(message.events)
                } catch {
                    // Delivered but not recorded: at least once, so the next cycle may repeat it.
                    logger.error("delivered, but could not record the alert state", metadata: ["error": "\(error)"])
                    return false
                }
                sent.increment()
                logger.info(
                    "notification delivered",
                    metadata: ["notifier": "\(notifier.name)", "events": "\(message.events.map(\.kind.rawValue))", "agents": "\(agents)"])
                return true
            case .failed(let reason, let retryable, let retryAfter):
                failed.increment()
                logger.warning(
                    "notification not delivered",
                    metadata: [
                        "notifier": "\(notifier.name)", "reason": "\(reason)", "attempt": "\(attempt)", "retryable": "\(retryable)",
                        "agents": "\(agents)",
                    ])
                if let retryAfter {
                    _ = try? await client.withConnection { connection throws(RedisError) in
                        try connection.call(RedisCommand("SET", retryKey, "1", "PX", String(retryAfter.wholeMilliseconds)))
                    }
                }
                guard retryable, attempt < Self.attemptsPerCycle else { return false }
                if retryAfter == nil { try? await Task.sleep(for: backoff.next()) }
            }
        }
        return false
    }

    private func store(_ events: [AlertPolicy.Event]) async throws {
        let key = configuration.alertsKey
        let fields = events.flatMap { [$0.state.agent.id, $0.recordAfterDelivery.encoded] }
        _ = try await client.withConnection { connection throws(RedisError) in
            try connection.call(RedisCommand("HSET", [key] + fields))
        }
    }
}
