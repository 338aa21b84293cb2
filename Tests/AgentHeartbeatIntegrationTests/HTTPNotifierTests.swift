import AgentHeartbeat
import AgentHeartbeatCore
import Foundation
import Testing

@Suite("Slack, Discord, PagerDuty and webhook answers over libcurl")
struct HTTPNotifierTests {
    let notification = QueuedNotification(id: "e-1", queuedAt: 0, text: #"{"kind":"alert"}"#, subjects: ["mary"])

    @Test func answersSayWhetherAndWhenToRetry() async throws {
        let api = try FakeReceiver()
        defer { api.stop() }
        let url = api.url + "/hooks/SECRET-path"
        let hook = HTTPNotifier(name: "hook", target: .webhook(url: url, secret: nil), timeout: .seconds(2))
        let date = Date(timeIntervalSinceNow: 30)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        api.script(
            .init(status: 429, body: "slow down", headers: ["Retry-After: 7"]),
            .init(status: 503, body: "", headers: ["Retry-After: \(formatter.string(from: date))"]),
            .init(status: 429, body: #"{"message":"You are being rate limited.","retry_after":1.5}"#),
            .init(status: 429, body: "", headers: ["Retry-After: 99999999"]),
            .init(status: 500, body: "oops"),
            .init(status: 404, body: #"{"message":"Unknown Webhook"}"#),
            .init(status: 204, body: "")
        )
        #expect(
            await hook.deliver(notification)
                == .failed(reason: "HTTP 429: slow down", retryable: true, retryAfter: .seconds(7))
        )
        guard case .failed(_, true, let fromDate?) = await hook.deliver(notification) else {
            Issue.record("a 503 with an HTTP date is retried after it")
            return
        }
        #expect(fromDate > .seconds(25) && fromDate <= .seconds(30))
        #expect(
            await hook.deliver(notification)
                == .failed(
                    reason: #"HTTP 429: {"message":"You are being rate limited.","retry_after":1.5}"#,
                    retryable: true,
                    retryAfter: .milliseconds(1500)
                )
        )
        guard case .failed(_, true, let capped?) = await hook.deliver(notification) else {
            Issue.record("a 429 is retried")
            return
        }
        #expect(capped == .seconds(3600), "a hostile Retry-After cannot park alerts for years")
        #expect(await hook.deliver(notification) == .failed(reason: "HTTP 500: oops", retryable: true, retryAfter: nil))
        #expect(await hook.deliver(notification) == .rejected(reason: #"HTTP 404: {"message":"Unknown Webhook"}"#))
        #expect(await hook.deliver(notification) == .delivered)
        #expect(api.requests.allSatisfy { $0.path == "/hooks/SECRET-path" && $0.body == notification.text })
        #expect(api.requests.allSatisfy { $0.headers["x-agent-heartbeat-event"] == "e-1" })
        #expect(api.requests.allSatisfy { $0.headers["x-agent-heartbeat-signature"] == nil }, "no secret, no signature")
    }

    @Test func anUnreachableReceiverIsRetriedAndItsURLNeverShows() async throws {
        let port = try freeLoopbackPort()
        for target: HTTPNotifier.Target in [
            .slack(url: "http://127.0.0.1:\(port)/services/T0/B0/SECRET"),
            .pagerDuty(apiURL: "http://127.0.0.1:\(port)", routingKey: "SECRET-key"),
        ] {
            let notifier = HTTPNotifier(name: "x", target: target, timeout: .seconds(2))
            guard case .failed(let reason, true, nil) = await notifier.deliver(notification) else {
                Issue.record("connection refused is retried")
                continue
            }
            #expect(reason.hasPrefix("connection failed:") && !reason.contains("SECRET"), "\(reason)")
        }
    }
}
