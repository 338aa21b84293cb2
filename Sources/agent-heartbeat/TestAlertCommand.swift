import AgentHeartbeat
import AgentHeartbeatCore
import ArgumentParser
import Foundation

struct TestAlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-alert",
        abstract: "Send one test message through the configured Telegram chat and say what happened.",
        discussion: """
            Reads TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, TELEGRAM_API_URL (default https://api.telegram.org) \
            and TELEGRAM_TIMEOUT_SECONDS (default 10). Exits 0 when Telegram accepted the message, 1 otherwise.
            """
    )

    func run() async throws {
        guard let settings = TelegramNotifier.Settings(environment: ProcessInfo.processInfo.environment) else {
            printError("TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID must both be set")
            throw ExitCode(1)
        }
        let host = ProcessInfo.processInfo.hostName
        let result = await TelegramNotifier(settings: settings).send(
            text: "✅ <b>agent-heartbeat test message</b>\nFrom \(escapeHTML(host)): alerts will reach this chat."
        )
        switch result {
        case .delivered:
            print("delivered: Telegram accepted the test message for chat \(settings.chatID)")
        case .failed(let reason, _, _), .rejected(let reason):
            printError("not delivered: \(reason)")
            throw ExitCode(1)
        }
    }
}
