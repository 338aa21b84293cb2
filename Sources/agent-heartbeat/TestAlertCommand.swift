import AgentHeartbeat
import AgentHeartbeatCore
import ArgumentParser
import Foundation

struct TestAlertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-alert",
        abstract: "Send one test message through each receiver (or one) and say what happened for each.",
        discussion: """
            The receivers are agents.yaml's `notifiers`, their secrets read from the environment variables \
            they name; without a `notifiers` section, Telegram from TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, \
            TELEGRAM_API_URL and TELEGRAM_TIMEOUT_SECONDS. PagerDuty gets a test incident that is resolved at \
            once. Exits 0 when every receiver accepted its message, 1 otherwise, 2 when agents.yaml is invalid.
            """
    )

    @OptionGroup var configOptions: ConfigOptions
    @Option(help: "Only this receiver (its `name` in agents.yaml).")
    var notifier: String?

    func run() async throws {
        let configuration = try configOptions.load()
        var notifiers = try configOptions.notifiers(for: configuration)
        if notifiers.isEmpty {
            printError(
                configuration.notifiers.isEmpty
                    ? "no receivers: agents.yaml has no `notifiers`, "
                        + "and TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID must both be set"
                    : "no receivers"
            )
            throw ExitCode(1)
        }
        if let notifier {
            notifiers = notifiers.filter { $0.name == notifier }
            guard !notifiers.isEmpty else {
                printError("no receiver is named \"\(notifier)\"")
                throw ExitCode(1)
            }
        }
        let host = ProcessInfo.processInfo.hostName
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var failures = 0
        // One after another: the output says which is which, and each is bounded by its timeout.
        for notifier in notifiers {
            switch await notifier.sendTest(from: host, now: now) {
            case .delivered:
                print("\(notifier.name) (\(notifier.kind.rawValue)): delivered")
            case .failed(let reason, _, _), .rejected(let reason):
                failures += 1
                printError("\(notifier.name) (\(notifier.kind.rawValue)): not delivered: \(reason)")
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
