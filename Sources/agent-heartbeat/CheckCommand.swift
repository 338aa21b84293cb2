import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import ArgumentParser
import Foundation

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Mirror heartbeats for a while, run one check, write the map and print a summary.",
        discussion: "Exits 1 when Redis cannot be reached within 10 seconds. Used by the scheduled workflow."
    )

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var loggingOptions: LoggingOptions
    @Option(help: "Status map path (default: $AGENT_HEARTBEAT_OUTPUT or hub/agent_heartbeat.json).")
    var output: String?
    @Flag(help: "Run a single check and exit (required; `run` checks continuously).")
    var once = false
    @Option(help: "Seconds to mirror heartbeats before the check.")
    var listen: Int = 0

    func validate() throws {
        guard once else { throw ValidationError("check needs --once; use `agent-heartbeat run` to check continuously") }
        guard listen >= 0 else { throw ValidationError("--listen must be 0 or more seconds") }
    }

    func run() async throws {
        let configuration = try configOptions.load()
        let redis = RedisConnector(try Environment.redisEndpoint(), routingKey: configuration.keyTag)
        let logger = loggingOptions.bootstrap()
        let client = RedisClient(redis, name: "checker")
        let result: HeartbeatChecker.Result
        do {
            try await waitForRedis(client)
            if listen > 0 {
                try await HeartbeatMirror(redis, configurations: ConfigurationStore(configuration), logger: logger)
                    .mirror(
                        for: .seconds(listen)
                    )
            }
            result = try await HeartbeatChecker(client: client, configuration: configuration).check()
            await client.close()
        } catch {
            await client.close()
            throw error
        }
        let outputPath = output ?? Environment.outputPath
        let map = result.statusMap
        try AtomicFile.write(to: outputPath) { write in try map.render(to: write) }
        let summary = map.summary
        // The conditions and notes that apply, e.g. " (1 late, 2 failing, 1 silenced)".
        let notes = [
            ("late", summary.lateAgents), ("failing", summary.failingAgents), ("flapping", summary.flappingAgents),
            ("silenced", summary.silencedAgents), ("suppressed", summary.suppressedAgents),
        ].compactMap { name, count in (count ?? 0) > 0 ? "\(count!) \(name)" : nil }
        let groups = map.assessment.groups.filter { $0.status == .belowQuorum }.map(\.group.id)
        print(
            "\(summary.totalAgents) agents: \(summary.onlineAgents) online, \(summary.offlineAgents) offline, "
                + "\(summary.unknownAgents) unknown"
                + (notes.isEmpty ? "" : " (\(notes.joined(separator: ", ")))")
                + (groups.isEmpty ? "" : "; below quorum: \(groups.joined(separator: ", "))")
                + "; map written to \(outputPath)"
        )
    }

    /// Retries for up to 10 s while Redis cannot be reached; exits 1 after that or when it refuses us.
    private func waitForRedis(_ client: RedisClient) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                try await client.withConnection { connection throws(RedisError) in _ = try connection.call(.ping) }
                return
            } catch let error as RedisError where error.code == .setupFailed {
                // A refused password will not get better by waiting.
                printError("\(error)")
                throw ExitCode(1)
            } catch {
                guard ContinuousClock.now < deadline else {
                    printError("Redis at \(client.connector) not reachable within 10 s: \(error)")
                    throw ExitCode(1)
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}
