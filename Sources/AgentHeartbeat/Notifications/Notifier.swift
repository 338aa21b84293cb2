import AgentHeartbeatCore

/// Somewhere alerts go. Telegram is the first; Slack, Discord, webhooks or email implement the
/// same one method and the alert policy does not change.
public protocol Notifier: Sendable {
    /// Short name for logs ("telegram").
    var name: String { get }
    func deliver(_ message: AlertMessage) async -> DeliveryResult
}

public enum DeliveryResult: Sendable, Equatable {
    case delivered
    /// `retryable`: trying again later makes sense (network, 5xx, 429); `retryAfter`: the
    /// service's own wait. The reason never contains a secret.
    case failed(reason: String, retryable: Bool, retryAfter: Duration?)
    /// The service refused this message itself (Telegram's 400): sending it again cannot help,
    /// and it must not hold back the messages after it.
    case rejected(reason: String)
}
