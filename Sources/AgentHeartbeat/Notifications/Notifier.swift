import AgentHeartbeatCore

/// A receiver of notifications: Telegram, Slack, Discord, PagerDuty, a webhook or email. It sends
/// what was queued for it (already rendered in its format) and adds its secrets on the way out.
public protocol Notifier: Sendable {
    /// The receiver's name in agents.yaml ("telegram" for the one from the environment).
    var name: String { get }
    var kind: NotifierConfiguration.Kind { get }
    /// Bounds one attempt; the leader lock's TTL is derived from the longest.
    var timeout: Duration { get }
    /// Older undelivered notifications are dropped.
    var maximumAge: Duration { get }
    func deliver(_ notification: QueuedNotification) async -> DeliveryResult
    /// One test message (`test-alert`).
    func sendTest(from host: String, now: Int64) async -> DeliveryResult
}

public enum DeliveryResult: Sendable, Equatable {
    case delivered
    /// `retryable`: trying again later makes sense (network, 5xx, 429); `retryAfter`: the
    /// service's own wait. The reason never contains a secret.
    case failed(reason: String, retryable: Bool, retryAfter: Duration?)
    /// The service refused this message for good (a 4xx other than 408 and 429): sending it again
    /// cannot help, and it must not hold back the messages after it.
    case rejected(reason: String)
}
