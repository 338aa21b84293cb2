import AgentHeartbeatCore
import ArgumentParser

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check an agents.yaml: print what is wrong (exit 2) or ok."
    )

    @Argument(help: "The file to check (default: $AGENT_HEARTBEAT_CONFIG or ./agents.yaml).")
    var path: String?

    func run() throws {
        let options = try ConfigOptions.parse(path.map { ["--config", $0] } ?? [])
        let configuration = try options.load()
        print("ok: \(options.configPath): \(configuration.agents.count) agents")
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
