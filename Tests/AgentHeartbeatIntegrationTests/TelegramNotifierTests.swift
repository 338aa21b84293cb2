import AgentHeartbeat
import AgentHeartbeatCore
import Testing

@Suite("Telegram notifier over libcurl")
struct TelegramNotifierTests {
    static let token = "123456:SECRET-bot-token"

    func notifier(_ api: FakeReceiver) -> TelegramNotifier {
        var settings = TelegramNotifier.Settings(token: Self.token, chatID: "-100200300")
        settings.apiURL = api.url
        settings.totalTimeout = .seconds(3)
        return TelegramNotifier(settings: settings)
    }

    @Test func postsJSONToSendMessage() async throws {
        let api = try FakeReceiver()
        #expect(await notifier(api).send(text: "<b>hi</b> &amp; ✓") == .delivered)
        let request = try #require(api.requests.first)
        #expect(request.path == "/bot\(Self.token)/sendMessage")
        #expect(request.json["chat_id"] as? String == "-100200300")
        #expect(request.json["parse_mode"] as? String == "HTML")
        #expect(request.text == "<b>hi</b> &amp; ✓")
    }

    @Test func failuresSayWhetherRetryingMakesSense() async throws {
        let api = try FakeReceiver()
        api.script(.tooManyRequests(retryAfter: 2), .serverError, .unauthorized)
        let notifier = notifier(api)
        #expect(
            await notifier.send(text: "x")
                == .failed(
                    reason: "HTTP 429: Too Many Requests: retry after 2",
                    retryable: true,
                    retryAfter: .seconds(2)
                )
        )
        #expect(
            await notifier.send(text: "x")
                == .failed(reason: "HTTP 500: Internal Server Error", retryable: true, retryAfter: nil)
        )
        // A wrong token or chat: refused for good, so a receiver's queue never waits on it forever.
        #expect(await notifier.send(text: "x") == .rejected(reason: "HTTP 401: Unauthorized"))
    }

    @Test func unreachableAPIIsRetryableAndHidesTheToken() async throws {
        let port = try freeLoopbackPort()
        var settings = TelegramNotifier.Settings(token: Self.token, chatID: "1")
        settings.apiURL = "http://127.0.0.1:\(port)"
        let result = await TelegramNotifier(settings: settings).send(text: "x")
        guard case .failed(let reason, let retryable, _) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(retryable)
        #expect(reason.contains("connection to the Bot API failed"))
        #expect(!reason.contains("SECRET"))
    }

    /// Found in issue 9: a huge retry_after overflowed when turned into milliseconds and trapped.
    @Test func hugeRetryAfterIsBoundedAndA400IsARefusalOfThatMessage() async throws {
        let api = try FakeReceiver()
        api.script(
            .tooManyRequests(retryAfter: Int.max),
            .init(status: 400, body: #"{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}"#)
        )
        let notifier = notifier(api)
        guard case .failed(_, true, let retryAfter?) = await notifier.send(text: "x") else {
            Issue.record("expected a retryable failure with a wait")
            return
        }
        #expect(retryAfter == .seconds(3600))
        _ = retryAfter.wholeMilliseconds
        #expect(await notifier.send(text: "x") == .rejected(reason: "HTTP 400: Bad Request: message is too long"))
    }
}
