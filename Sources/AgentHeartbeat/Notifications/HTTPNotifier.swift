import AgentHeartbeatCore
import Foundation

/// Slack and Discord incoming webhooks, PagerDuty's Events API v2 and plain webhooks: a JSON POST
/// each, through libcurl on a thread of the receiver's own (a hanging receiver holds only itself).
/// The URL, the routing key and the signing secret are secrets: cut out of every reason.
public final class HTTPNotifier: Notifier {
    public enum Target: Sendable {
        case slack(url: String)
        case discord(url: String)
        /// `apiURL`: `PAGERDUTY_API_URL`, events go to `<apiURL>/v2/enqueue`.
        case pagerDuty(apiURL: String, routingKey: String)
        case webhook(url: String, secret: String?)
    }

    public let name: String
    public let target: Target
    public let timeout: Duration
    public let maximumAge: Duration
    private let secrets: [String]
    private let thread: JobThread

    public init(name: String, target: Target, timeout: Duration = .seconds(10), maximumAge: Duration = .seconds(86_400))
    {
        self.name = name
        self.target = target
        self.timeout = timeout
        self.maximumAge = maximumAge
        thread = JobThread(name: "notify-\(name.prefix(8))")
        secrets =
            switch target {
            case .slack(let url), .discord(let url): Self.secretParts(of: url)
            case .pagerDuty(_, let key): [key]
            case .webhook(let url, let secret): Self.secretParts(of: url) + (secret.map { [$0] } ?? [])
            }
    }

    public var kind: NotifierConfiguration.Kind {
        switch target {
        case .slack: .slack
        case .discord: .discord
        case .pagerDuty: .pagerduty
        case .webhook: .webhook
        }
    }

    public func deliver(_ notification: QueuedNotification) async -> DeliveryResult {
        await post(body: notification.text, id: notification.id)
    }

    public func sendTest(from host: String, now: Int64) async -> DeliveryResult {
        let line = "From \(host): alerts will reach this receiver."
        switch target {
        case .slack: return await post(body: "✅ *agent-heartbeat test message*\n" + escapeHTML(line), id: "test")
        case .discord:
            return await post(body: "✅ **agent\\-heartbeat test message**\n" + escapeDiscord(line), id: "test")
        case .webhook:
            let id = "test-\(now)"
            return await post(body: EventDocument.webhookTest(id: id, now: now, message: line), id: id)
        case .pagerDuty:
            // Opens and at once resolves one test incident.
            let key = "agent-heartbeat/test/\(host.prefix(200))"
            for action in ["trigger", "resolve"] {
                let event = EventDocument.pagerDutyTest(action: action, dedupKey: key, source: host, now: now)
                let result = await post(body: event, id: "test")
                guard result == .delivered else { return result }
            }
            return .delivered
        }
    }

    /// Sends one notification's text: the chat text wrapped in the service's JSON, a document as it is.
    private func post(body text: String, id: String) async -> DeliveryResult {
        let url: String
        var body: String
        var headers = ["User-Agent: agent-heartbeat"]
        switch target {
        case .slack(let address):
            url = address
            body = Self.json(["text": .string(text), "unfurl_links": .bool(false), "unfurl_media": .bool(false)])
        case .discord(let address):
            url = address
            body = Self.json(["content": .string(text), "allowed_mentions": .object(["parse": .array([])])])
        case .pagerDuty(let apiURL, let routingKey):
            url = apiURL + "/v2/enqueue"
            // The queued document has no routing key (Redis never holds a secret): it goes in first.
            body = "{\"routing_key\":" + Self.json(.string(routingKey)) + "," + text.dropFirst()
        case .webhook(let address, let secret):
            url = address
            body = text
            headers.append("X-Agent-Heartbeat-Event: \(id.filter { $0.isASCII && !$0.isWhitespace })")
            if let secret {
                let signature = hmacSHA256(key: Array(secret.utf8), message: Array(body.utf8))
                headers.append("X-Agent-Heartbeat-Signature: sha256=\(hexDigest(signature))")
            }
        }
        let client = HTTPClient(connectTimeout: min(.seconds(5), timeout), totalTimeout: timeout)
        let bytes = Array(body.utf8)
        let lines = headers
        let abort = HTTPClient.Abort()
        do {
            // Cancelling the caller (shutdown) aborts the transfer instead of waiting out its timeout.
            let response = try await withTaskCancellationHandler {
                try await thread.run { () throws(HTTPClient.TransportError) -> HTTPClient.Response in
                    try client.post(
                        url: url,
                        contentType: "application/json",
                        body: bytes,
                        headers: lines,
                        abort: abort
                    )
                }
            } onCancel: {
                abort()
            }
            return redacted(Self.result(of: response))
        } catch let error as HTTPClient.TransportError {
            return redacted(.failed(reason: "connection failed: \(error.message)", retryable: true, retryAfter: nil))
        } catch {
            return redacted(.failed(reason: "\(error)", retryable: true, retryAfter: nil))
        }
    }

    /// 2xx delivered; 408, 429, 5xx and no answer retried (after `Retry-After` when given);
    /// any other 4xx refused for good.
    static func result(of response: HTTPClient.Response) -> DeliveryResult {
        if (200..<300).contains(response.status) { return .delivered }
        let excerpt = String(decoding: response.body.prefix(300), as: UTF8.self)
            .filter { !$0.isNewline }
        let reason = "HTTP \(response.status)" + (excerpt.isEmpty ? "" : ": \(excerpt)")
        let retryable =
            response.status == 0 || response.status == 408 || response.status == 429 || response.status >= 500
        guard retryable else { return .rejected(reason: reason) }
        return .failed(reason: reason, retryable: true, retryAfter: retryAfter(of: response))
    }

    /// `Retry-After` in seconds or as an HTTP date, else Discord's `retry_after` (seconds, a
    /// fraction allowed) in the body; at most an hour, so a hostile answer cannot park alerts.
    static func retryAfter(of response: HTTPClient.Response) -> Duration? {
        var seconds: Double?
        if let header = response.headers["retry-after"] {
            if let value = Double(header) {
                seconds = value
            } else {
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: "en_US_POSIX")
                formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
                seconds = formatter.date(from: header).map { $0.timeIntervalSinceNow }
            }
        }
        if seconds == nil, let value = response.body.withUnsafeBufferPointer({ try? JSONParser.parse($0) }),
            case .object(let fields) = value
        {
            switch fields["retry_after"] {
            case .number(let value): seconds = value
            case .integer(let value): seconds = Double(value)
            default: break
            }
        }
        guard let seconds, seconds.isFinite else { return nil }
        return .milliseconds(Int64(min(max(seconds, 0), 3600) * 1000))
    }

    private func redacted(_ result: DeliveryResult) -> DeliveryResult {
        switch result {
        case .delivered: .delivered
        case .failed(let reason, let retryable, let retryAfter):
            .failed(reason: redact(reason, secrets), retryable: retryable, retryAfter: retryAfter)
        case .rejected(let reason): .rejected(reason: redact(reason, secrets))
        }
    }

    /// A URL that is a secret as a whole (an incoming webhook), and its path, which holds the
    /// secret part, in case an error quotes only that.
    static func secretParts(of url: String) -> [String] {
        var parts = [url]
        if let scheme = url.range(of: "://"), let slash = url[scheme.upperBound...].firstIndex(of: "/") {
            let path = String(url[slash...])
            if path.count > 1 { parts.append(path) }
        }
        return parts
    }

    static func json(_ object: [String: JSONValue]) -> String { json(.object(object)) }

    static func json(_ value: JSONValue) -> String { jsonText(value) }
}

/// `text` with every secret replaced by `<redacted>`, longest first.
func redact(_ text: String, _ secrets: [String]) -> String {
    secrets.filter { !$0.isEmpty }.sorted { $0.count > $1.count }.reduce(text) {
        $0.replacingOccurrences(of: $1, with: "<redacted>")
    }
}
