import AgentHeartbeatCore
import Logging

/// After every check: holds or seeks the leader lock and, on the leader, sends the notifications
/// the policy finds due, recording each agent's alert state only once its message was delivered.
public actor AlertDispatcher {
    let client: RedisClient
    let configuration: MonitorConfiguration
    let notifier: (any Notifier)?
    let lock: LeaderLock
    let policy: AlertPolicy
    let logger: Logger
    /// Longest wait between two attempts inside one cycle; longer waits (429) span cycles.
    let maximumRetryPause: Duration
    static let attemptsPerCycle = 3
    public private(set) var isLeader = false

    /// `sendTimeout` bounds one delivery attempt. The lock is renewed before every attempt and
    /// every cycle, so its TTL covers the longest gap between renewals: a cycle, an attempt and
    /// a pause, with a cycle to spare.
    public init(client: RedisClient, configuration: MonitorConfiguration, notifier: (any Notifier)?, sendTimeout: Duration, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.notifier = notifier
        self.policy = AlertPolicy(cooldown: configuration.alertCooldown)
        self.logger = logger
        self.maximumRetryPause = min(.seconds(5), configuration.checkInterval)
        self.lock = LeaderLock(
            key: configuration.leaderKey, ttl: configuration.checkInterval * 2 + sendTimeout + maximumRetryPause)
    }

    public var lockTTL: Duration { lock.ttl }

    /// Handles one check's result; returns the alert records as they stand afterwards.
    public func process(_ result: HeartbeatChecker.Result) async -> [String: AlertRecord] {
        var records = result.alertRecords
        guard await renewLeadership(), let notifier else { return records }
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
    }

    private func renewLeadership() async -> Bool {
        let lock = lock
        let holds = (try? await client.withConnection { connection throws(RedisError) in try lock.acquireOrRenew(on: connection) }) ?? false
        if holds != isLeader {
            logger.notice(holds ? "became the leader: this replica sends notifications" : "lost the leader lock")
        }
        isLeader = holds
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
                logger.info(
                    "notification delivered",
                    metadata: ["notifier": "\(notifier.name)", "events": "\(message.events.map(\.kind.rawValue))", "agents": "\(agents)"])
                return true
            case .failed(let reason, let retryable, let retryAfter):
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
        try await client.withConnection { connection throws(RedisError) in
            try connection.call(RedisCommand("HSET", [key] + fields))
        }
    }
}
