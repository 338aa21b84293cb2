import AgentHeartbeatCore
import AgentHeartbeatRedis
import Logging
import Metrics
import Synchronization

/// Delivers one receiver's queue (`{prefix}:notify:<name>:queue`), oldest first, while this replica
/// leads. Each receiver has its own worker, thread and Redis keys: a receiver that hangs, fails or
/// refuses holds back nothing but its own queue.
///
/// - Delivered: the entry is removed (fenced by the lock). A leader killed between the answer and
///   the removal makes its successor send it again: at least once, with the same id (webhook
///   event header, email Message-ID, PagerDuty dedup_key) for receivers that deduplicate.
/// - Connection errors, timeouts, 408, 429, 5xx: retried after the service's `Retry-After` or a
///   backoff (1 s doubling to 60 s), kept in `{prefix}:notify:<name>:retry_after` so a new leader
///   waits too.
/// - Any other 4xx (and SMTP 5xx): refused for good: counted, logged, removed.
/// - Older than the receiver's `max_age_seconds`: counted, logged, removed.
final class DeliveryWorker: Sendable {
    let notifier: any Notifier
    private let client: RedisClient
    private let logger: Logger
    /// Bumped when something was queued: the worker looks at once instead of at its next poll.
    private let queuedGeneration = Atomic<Int>(0)
    private let sent: Counter
    private let failed: Counter
    private let retried: Counter
    private let queued: Gauge

    /// How often an idle worker looks at its in-memory wake-up counter (not Redis): the queue hop.
    static let idlePoll = Duration.milliseconds(50)
    static let backoff = Backoff(initial: .seconds(1), maximum: .seconds(60))

    init(notifier: any Notifier, client: RedisClient, logger: Logger) {
        self.notifier = notifier
        self.client = client
        self.logger = logger
        let label = [("notifier", notifier.name)]
        sent = Counter(label: SidecarMetrics.Name.notificationsSent, dimensions: label)
        failed = Counter(label: SidecarMetrics.Name.notificationsFailed, dimensions: label)
        retried = Counter(label: SidecarMetrics.Name.notificationsRetried, dimensions: label)
        queued = Gauge(label: SidecarMetrics.Name.notificationsQueued, dimensions: label)
        queued.record(0)
        for reason in DropReason.allCases { dropped(reason).increment(by: 0) }
    }

    enum DropReason: String, CaseIterable {
        /// The receiver refused it for good (a 4xx).
        case refused
        /// Undelivered for longer than `max_age_seconds`.
        case expired
        /// Not a notification this version can read.
        case unreadable
    }

    private func dropped(_ reason: DropReason) -> Counter {
        Counter(
            label: SidecarMetrics.Name.notificationsDropped,
            dimensions: [("notifier", notifier.name), ("reason", reason.rawValue)]
        )
    }

    func wake() { queuedGeneration.add(1, ordering: .relaxed) }

    /// Delivers until cancelled (cancellation aborts a transfer in flight).
    func run(_ dispatcher: AlertDispatcher) async {
        var backoff = Self.backoff
        var seen = -1
        var lastLook = ContinuousClock.now - .seconds(3600)
        while !Task.isCancelled {
            let lead = dispatcher.lead
            let generation = queuedGeneration.load(ordering: .relaxed)
            // Idle: look again when something was queued, or once per check interval.
            guard let lead, generation != seen || ContinuousClock.now - lastLook >= lead.configuration.checkInterval
            else {
                try? await Task.sleep(for: Self.idlePoll)
                continue
            }
            seen = generation
            lastLook = .now
            switch await step(lead, dispatcher: dispatcher, backoff: &backoff) {
            case .idle: continue
            case .more: seen = -1  // look again at once
            case .wait(let pause):
                try? await Task.sleep(for: pause)
                seen = -1
            }
        }
    }

    enum Step {
        case idle, more
        case wait(Duration)
    }

    /// Looks at the head of the queue and tries to deliver it once.
    private func step(_ lead: AlertDispatcher.Lead, dispatcher: AlertDispatcher, backoff: inout Backoff) async -> Step {
        let configuration = lead.configuration
        let queueKey = configuration.queueKey(notifier: notifier.name)
        let retryKey = configuration.retryAfterKey(notifier: notifier.name)
        let head: (entry: String?, wait: Int64, length: Int64)
        do {
            head = try await client.withConnection { connection throws(RedisError) in
                let replies = try connection.pipeline([
                    RedisCommand("LINDEX", queueKey, "0"), RedisCommand("PTTL", retryKey),
                    RedisCommand("LLEN", queueKey),
                ])
                return (replies[0].text, replies[1].integer ?? 0, replies[2].integer ?? 0)
            }
        } catch {
            // Debug: the check loop already says when Redis fails, once, not every second per receiver.
            logger.debug(
                "cannot read the notification queue",
                metadata: ["notifier": "\(notifier.name)", "error": "\(error)"]
            )
            return .wait(.seconds(1))
        }
        queued.record(head.length)
        guard let text = head.entry else {
            backoff.reset()
            return .idle
        }
        // Waiting out a Retry-After or a backoff, perhaps one a previous leader set.
        if head.wait > 0 { return .wait(min(.milliseconds(head.wait), .seconds(1))) }
        guard let notification = QueuedNotification(encoded: text) else {
            logger.error("dropped an unreadable queued notification", metadata: ["notifier": "\(notifier.name)"])
            return await remove(text, lead: lead, delivered: nil, reason: .unreadable)
        }
        let age = Duration.milliseconds(lead.clock.milliseconds(at: .now) - notification.queuedAt)
        if age > notifier.maximumAge {
            logger.error(
                "dropped a notification older than the receiver's max_age_seconds",
                metadata: metadata(notification, ["age": "\(age.wholeSeconds)s"])
            )
            return await remove(text, lead: lead, delivered: nil, reason: .expired)
        }
        guard await dispatcher.renewLeadership() else { return .idle }
        let result = await notifier.deliver(notification)
        switch result {
        case .delivered:
            sent.increment()
            backoff.reset()
            logger.info("notification delivered", metadata: metadata(notification, ["queued_for": "\(age)"]))
            return await remove(text, lead: lead, delivered: notification, reason: nil)
        case .rejected(let reason), .failed(let reason, false, _):
            failed.increment()
            logger.error(
                "notification refused for good; dropped so the ones after it go on",
                metadata: metadata(notification, ["reason": "\(reason)"])
            )
            return await remove(text, lead: lead, delivered: nil, reason: .refused)
        case .failed(let reason, true, let retryAfter):
            failed.increment()
            retried.increment()
            let pause = retryAfter ?? backoff.next()
            logger.warning(
                "notification not delivered; will retry",
                metadata: metadata(notification, ["reason": "\(reason)", "retry_in": "\(pause)"])
            )
            _ = try? await client.withConnection { connection throws(RedisError) in
                try connection.call(.setExpiring(retryKey, "1", milliseconds: max(1, pause.wholeMilliseconds)))
            }
            return .wait(min(pause, .seconds(1)))
        }
    }

    /// Removes the delivered or dropped head, fenced by the lock; a delivered alert or reminder
    /// restarts its subjects' cooldown.
    private func remove(
        _ text: String,
        lead: AlertDispatcher.Lead,
        delivered: QueuedNotification?,
        reason: DropReason?
    ) async -> Step {
        if let reason { dropped(reason).increment() }
        let configuration = lead.configuration
        let keys = [configuration.leaderKey, configuration.queueKey(notifier: notifier.name), configuration.alertsKey]
        let restarted = delivered.map { $0.recovery ? [] : $0.subjects } ?? []
        let command = RedisCommand.eval(
            .popNotification,
            keys: keys,
            arguments: [lead.token, text, String(lead.clock.milliseconds(at: .now))] + restarted
        )
        do {
            let removed = try await client.withConnection { connection throws(RedisError) in
                try connection.call(command).integer == 1
            }
            return removed ? .more : .idle
        } catch {
            logger.warning(
                "could not remove a sent notification",
                metadata: ["notifier": "\(notifier.name)", "error": "\(error)"]
            )
            return .wait(.seconds(1))
        }
    }

    private func metadata(_ notification: QueuedNotification, _ extra: Logger.Metadata) -> Logger.Metadata {
        extra.merging(
            ["notifier": "\(notifier.name)", "id": "\(notification.id)", "about": "\(notification.about)"],
            uniquingKeysWith: { $1 }
        )
    }
}
