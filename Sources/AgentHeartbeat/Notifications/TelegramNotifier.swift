import AgentHeartbeatCore
import Foundation

/// Sends alerts with the Telegram Bot API's sendMessage, through libcurl on a thread of its own.
/// The bot token is part of the URL only; it is never logged and is cut out of every error text.
public final class TelegramNotifier: Notifier {
    public struct Settings: Sendable {
        public var token: String
        public var chatID: String
        /// `TELEGRAM_API_URL`: https://api.telegram.org, or a self-hosted Bot API server, or a test's.
        public var apiURL: String = "https://api.telegram.org"
        public var connectTimeout: Duration = .seconds(5)
        /// Bounds one attempt; the leader lock's TTL is derived from it.
        public var totalTimeout: Duration = .seconds(10)

        public init(token: String, chatID: String) {
            self.token = token
            self.chatID = chatID
        }

        /// From `TELEGRAM_BOT_TOKEN`, `TELEGRAM_CHAT_ID`, `TELEGRAM_API_URL`, `TELEGRAM_TIMEOUT_SECONDS`;
        /// nil when the token or the chat is missing.
        public init?(environment: [String: String]) {
            guard let token = environment["TELEGRAM_BOT_TOKEN"], !token.isEmpty,
                let chat = environment["TELEGRAM_CHAT_ID"], !chat.isEmpty
            else { return nil }
            self.init(token: token, chatID: chat)
            if let url = environment["TELEGRAM_API_URL"], !url.isEmpty {
                apiURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            }
            if let seconds = environment["TELEGRAM_TIMEOUT_SECONDS"].flatMap(Int64.init), seconds > 0 {
                totalTimeout = .seconds(seconds)
                connectTimeout = min(connectTimeout, totalTimeout)
            }
        }
    }

    public let name: String
    public let kind = NotifierConfiguration.Kind.telegram
    public let settings: Settings
    public let maximumAge: Duration
    private let thread: JobThread

    public init(name: String = "telegram", settings: Settings, maximumAge: Duration = .seconds(86_400)) {
        self.name = name
        self.settings = settings
        self.maximumAge = maximumAge
        thread = JobThread(name: "notify-\(name.prefix(8))")
    }

    public var timeout: Duration { settings.totalTimeout }

    public func deliver(_ notification: QueuedNotification) async -> DeliveryResult {
        await send(text: notification.text)
    }

    public func sendTest(from host: String, now: Int64) async -> DeliveryResult {
        await send(
            text: "✅ <b>agent-heartbeat test message</b>\nFrom \(escapeHTML(host)): alerts will reach this chat."
        )
    }

    /// Posts `text` (HTML parse mode) to the configured chat.
    public func send(text: String) async -> DeliveryResult {
        let settings = settings
        let body: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            body = Array(
                try encoder.encode(
                    SendMessage(
                        chatID: settings.chatID,
                        text: text,
                        parseMode: "HTML",
                        disableWebPagePreview: true
                    )
                )
            )
        } catch {
            return .failed(reason: "cannot encode the message: \(error)", retryable: false, retryAfter: nil)
        }
        let client = HTTPClient(connectTimeout: settings.connectTimeout, totalTimeout: settings.totalTimeout)
        let url = "\(settings.apiURL)/bot\(settings.token)/sendMessage"
        do {
            // Cancelling the caller (shutdown) aborts the transfer instead of waiting out its timeout.
            let abort = HTTPClient.Abort()
            let response = try await withTaskCancellationHandler {
                try await thread.run { () throws(HTTPClient.TransportError) -> HTTPClient.Response in
                    try client.post(url: url, contentType: "application/json", body: body, abort: abort)
                }
            } onCancel: {
                abort()
            }
            switch Self.result(of: response) {
            case .delivered: return .delivered
            case .failed(let reason, let retryable, let retryAfter):
                return .failed(reason: redacted(reason), retryable: retryable, retryAfter: retryAfter)
            case .rejected(let reason): return .rejected(reason: redacted(reason))
            }
        } catch let error as HTTPClient.TransportError {
            return .failed(
                reason: redacted("connection to the Bot API failed: \(error.message)"),
                retryable: true,
                retryAfter: nil
            )
        } catch {
            return .failed(reason: redacted("\(error)"), retryable: true, retryAfter: nil)
        }
    }

    /// Reads the Bot API's answer: `{"ok":true,...}` or
    /// `{"ok":false,"error_code":…,"description":…,"parameters":{"retry_after":…}}`.
    static func result(of response: HTTPClient.Response) -> DeliveryResult {
        let fields: [String: JSONValue]
        if let value = response.body.withUnsafeBufferPointer({ try? JSONParser.parse($0) }),
            case .object(let object) = value
        {
            fields = object
        } else {
            fields = [:]
        }
        if response.status == 200, fields["ok"] == .bool(true) { return .delivered }
        var reason = "HTTP \(response.status)"
        if case .string(let description) = fields["description"] { reason += ": \(description)" }
        // 400: this message (bad entities, too long); 401, 403, 404: the bot or the chat. Sending it
        // again cannot help, and a queue must not wait on it forever.
        if (400..<500).contains(response.status), response.status != 408, response.status != 429 {
            return .rejected(reason: reason)
        }
        var retryAfter: Duration?
        if case .object(let parameters) = fields["parameters"], case .integer(let seconds) = parameters["retry_after"] {
            // Bounded: a hostile or broken answer must neither overflow nor park alerts for years.
            retryAfter = .seconds(min(max(seconds, 0), 3600))
        }
        let retryable = response.status == 429 || response.status >= 500 || response.status == 0
        return .failed(reason: reason, retryable: retryable, retryAfter: retryAfter)
    }

    /// Cuts the token out of any text that might have picked it up (a URL in a libcurl message).
    func redacted(_ text: String) -> String {
        text.replacingOccurrences(of: settings.token, with: "<token>")
    }

    private struct SendMessage: Encodable {
        var chatID: String
        var text: String
        var parseMode: String
        var disableWebPagePreview: Bool

        enum CodingKeys: String, CodingKey {
            case chatID = "chat_id"
            case text
            case parseMode = "parse_mode"
            case disableWebPagePreview = "disable_web_page_preview"
        }
    }
}
