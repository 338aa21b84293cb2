import AgentHeartbeat
import AgentHeartbeatCore
import ArgumentParser
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check an agents.yaml: print what is wrong (exit 2) or ok.",
        discussion: """
            Also checks that every environment variable the notifiers and on_offline webhooks name (`*_env`) is set, \
            unless --skip-environment is given (to check the file where the secrets are not).
            """
    )

    @Argument(help: "The file to check (default: $AGENT_HEARTBEAT_CONFIG or ./agents.yaml).")
    var path: String?

    @Flag(help: "Do not check the notifiers' environment variables.")
    var skipEnvironment = false

    func run() throws {
        let options = try ConfigOptions.parse(path.map { ["--config", $0] } ?? [])
        let configuration = try options.load()
        if !skipEnvironment {
            _ = try options.notifiers(for: configuration)
            try options.checkActionEnvironment(configuration)
        }
        let parts = [
            "\(configuration.agents.count) agents", counted(configuration.groups.count, "group"),
            counted(configuration.notifiers.count, "notifier"),
            counted(configuration.dependencies.count, "agent with dependencies", "agents with dependencies"),
            counted(configuration.maintenance.count, "maintenance window"),
        ].compactMap { $0 }
        print("ok: \(options.configPath): \(parts.joined(separator: ", "))")
    }

    /// "1 group", "3 groups", nil for none.
    private func counted(_ count: Int, _ one: String, _ many: String? = nil) -> String? {
        count == 0 ? nil : "\(count) \(count == 1 ? one : many ?? one + "s")"
    }
}

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema (draft 2020-12) of the status map."
    )

    func run() {
        print(StatusMap.schema, terminator: "")
    }
}
