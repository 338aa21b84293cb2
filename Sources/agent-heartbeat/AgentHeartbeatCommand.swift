import AgentHeartbeat
import AgentHeartbeatCore
import ArgumentParser
import Foundation
import Logging

@main
struct AgentHeartbeatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-heartbeat",
        abstract: "Watches agents' Redis heartbeats and writes a status map.",
        discussion: """
            Environment: LUKA_REDIS_URL (default redis://127.0.0.1:6379), AGENT_HEARTBEAT_CONFIG \
            (default ./agents.yaml), AGENT_HEARTBEAT_OUTPUT (default hub/agent_heartbeat.json).
            """,
        subcommands: [
            RunCommand.self, CheckCommand.self, BeatCommand.self, ValidateCommand.self, SchemaCommand.self,
            TestAlertCommand.self, SilenceCommand.self,
            ProbeCommand.self,
        ]
    )
}

/// Options every command that reads agents.yaml shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "agents.yaml to load (default: $AGENT_HEARTBEAT_CONFIG or ./agents.yaml).")
    var config: String?

    var configPath: String { config ?? Environment.value("AGENT_HEARTBEAT_CONFIG") ?? "./agents.yaml" }

    /// Loads the configuration; on error prints it and exits with status 2.
    func load() throws -> MonitorConfiguration {
        do {
            return try MonitorConfiguration(contentsOfFile: configPath)
        } catch {
            printError("invalid configuration: \(error)")
            throw ExitCode(2)
        }
    }

    /// The runner of agents' `on_offline` actions, nil when no agent has one; on a missing
    /// `webhook_env` variable prints which and exits with status 2.
    func recoveryActions(
        for configuration: MonitorConfiguration,
        client: RedisClient,
        logger: Logger
    ) throws -> RecoveryActionRunner? {
        guard configuration.rules.contains(where: { !$0.onOffline.isEmpty }) else { return nil }
        try checkActionEnvironment(configuration)
        return RecoveryActionRunner(client: client, environment: ProcessInfo.processInfo.environment, logger: logger)
    }

    /// Exits with status 2, naming it, when an `on_offline` webhook's variable is not set.
    func checkActionEnvironment(_ configuration: MonitorConfiguration) throws {
        do {
            let environment = ProcessInfo.processInfo.environment
            try RecoveryActionRunner.checkEnvironment(configuration, environment: environment, file: configPath)
        } catch {
            printError("invalid configuration: \(error)")
            throw ExitCode(2)
        }
    }

    /// The configuration's receivers with their secrets from the environment; on a missing
    /// variable prints which and exits with status 2.
    func notifiers(for configuration: MonitorConfiguration) throws -> [any Notifier] {
        do {
            return try Notifiers.make(configuration, environment: ProcessInfo.processInfo.environment, file: configPath)
        } catch {
            printError("invalid configuration: \(error)")
            throw ExitCode(2)
        }
    }
}

struct LoggingOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Log format: text, or json (one object per line, for container log collectors).")
    var logFormat: Format = .text

    func bootstrap() -> Logger {
        let level = logLevel
        let format = logFormat
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "agent-heartbeat")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// `LUKA_REDIS_URL` (and `LUKA_REDIS_SENTINEL_PASSWORD`), parsed; a malformed URL prints why
    /// (never the password) and exits with status 2.
    static func redisEndpoint() throws -> RedisEndpoint {
        guard let text = value("LUKA_REDIS_URL") else { return .server(.default) }
        do {
            return try RedisEndpoint(parsing: text, sentinelPassword: value("LUKA_REDIS_SENTINEL_PASSWORD"))
        } catch {
            printError("LUKA_REDIS_URL: \(error)")
            throw ExitCode(2)
        }
    }

    static var outputPath: String { value("AGENT_HEARTBEAT_OUTPUT") ?? "hub/agent_heartbeat.json" }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}
