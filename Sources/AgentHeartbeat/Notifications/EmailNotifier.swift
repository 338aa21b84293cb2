import AgentHeartbeatCore
import Foundation

/// Sends mail over SMTP through libcurl: `smtp://host:587` upgraded with STARTTLS whenever the
/// server offers it (and required before a password is sent to anything but loopback), or
/// `smtps://host:465`. The URL and the password are secrets: cut out of every reason.
public final class EmailNotifier: Notifier {
    public struct Settings: Sendable {
        public var url: String
        public var from: String
        public var to: [String]
        public var credentials: (username: String, password: String)?

        public init(url: String, from: String, to: [String], credentials: (username: String, password: String)? = nil) {
            self.url = url
            self.from = from
            self.to = to
            self.credentials = credentials
        }
    }

    public let name: String
    public let kind = NotifierConfiguration.Kind.email
    public let settings: Settings
    public let timeout: Duration
    public let maximumAge: Duration
    private let thread: JobThread

    public init(
        name: String,
        settings: Settings,
        timeout: Duration = .seconds(10),
        maximumAge: Duration = .seconds(86_400)
    ) {
        self.name = name
        self.settings = settings
        self.timeout = timeout
        self.maximumAge = maximumAge
        thread = JobThread(name: "notify-\(name.prefix(8))")
    }

    public func deliver(_ notification: QueuedNotification) async -> DeliveryResult {
        await send(
            subject: "[agent-heartbeat] " + (notification.subject ?? "notification"),
            body: notification.text,
            id: notification.id,
            at: notification.queuedAt
        )
    }

    public func sendTest(from host: String, now: Int64) async -> DeliveryResult {
        await send(
            subject: "[agent-heartbeat] test message",
            body: "From \(host): alerts will reach this address.",
            id: "test-\(now)",
            at: now
        )
    }

    private func send(subject: String, body: String, id: String, at milliseconds: Int64) async -> DeliveryResult {
        let settings = settings
        let message = MailMessage.render(
            from: settings.from,
            to: settings.to,
            subject: subject,
            body: body,
            id: id,
            date: milliseconds
        )
        let client = HTTPClient(connectTimeout: min(.seconds(5), timeout), totalTimeout: timeout)
        let requireTLS =
            settings.credentials != nil && settings.url.hasPrefix("smtp://") && !Self.isLoopback(settings.url)
        let abort = HTTPClient.Abort()
        let secrets = HTTPNotifier.secretParts(of: settings.url) + [settings.credentials?.password ?? ""]
        do {
            // Returns the server's last reply code (a Void job crashes Swift 6.3.1's SIL pass).
            _ = try await withTaskCancellationHandler {
                try await thread.run { () throws(HTTPClient.TransportError) -> Int in
                    try client.sendMail(
                        url: settings.url,
                        from: settings.from,
                        to: settings.to,
                        message: message,
                        credentials: settings.credentials,
                        requireTLS: requireTLS,
                        abort: abort
                    )
                }
            } onCancel: {
                abort()
            }
            return .delivered
        } catch let error as HTTPClient.TransportError {
            let reason = redact("SMTP: \(error.message)", secrets)
            // 5xx: the server refused this mail (a mailbox, the sender, the login) for good.
            if (500..<600).contains(error.responseCode) {
                return .rejected(reason: "\(reason) (\(error.responseCode))")
            }
            return .failed(reason: reason, retryable: true, retryAfter: nil)
        } catch {
            return .failed(reason: redact("\(error)", secrets), retryable: true, retryAfter: nil)
        }
    }

    static func isLoopback(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host else { return false }
        return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }
}
