import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import ArgumentParser
import Foundation

struct SilenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Silence agents for a while (kept in Redis, shared by every replica).",
        discussion: """
            A silenced agent keeps its true status in the map, with silenced_until and silence_reason; \
            nothing is sent about it meanwhile. Whatever is still wrong when the silence ends is alerted then.
            """,
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Silence an agent, a group, or agents matching a glob (`*` for all).",
            discussion: "Example: agent-heartbeat silence add mary --for 2h --reason \"deploy\""
        )

        @OptionGroup var configOptions: ConfigOptions
        @Argument(help: "An agent id, a group id, or a glob such as worker-* (quote it), or * for every agent.")
        var target: String
        @Option(name: .customLong("for"), help: "How long: 90s, 30m, 2h, 1d, 1h30m.") var duration: String
        @Option(help: "Why; shown in the map and the dashboard.") var reason: String = ""

        func run() async throws {
            let configuration = try configOptions.load()
            guard let length = parseDuration(duration), length <= SilenceStore.maximumDuration else {
                throw ValidationError("--for expects a duration such as 90s, 30m, 2h or 1d (at most 366d)")
            }
            guard configuration.knows(target: target) else {
                printError("\"\(target)\" is no agent or group in \(configOptions.configPath), and matches no agent id")
                throw ExitCode(2)
            }
            let silence = try await withStore(configuration) {
                try await $0.add(target: target, duration: length, reason: reason)
            }
            print("silenced \(target) until \(iso8601(milliseconds: silence.until)) (id \(silence.id))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the silences in force.")

        @OptionGroup var configOptions: ConfigOptions
        @Flag(help: "One JSON object per silence, one per line.") var json = false

        func run() async throws {
            let (now, silences) = try await withStore(try configOptions.load()) { try await $0.list() }
            if json {
                for silence in silences { print(String(decoding: silence.encoded, as: UTF8.self)) }
                return
            }
            guard !silences.isEmpty else { return print("no silences") }
            for silence in silences {
                let left = formatDuration(seconds: (silence.until - now + 999) / 1000)
                let reason = silence.reason.isEmpty ? "" : "  \(silence.reason)"
                print(
                    "\(silence.id)  \(silence.target)  until \(iso8601(milliseconds: silence.until)) (\(left))\(reason)"
                )
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a silence now.")

        @OptionGroup var configOptions: ConfigOptions
        @Argument(help: "The silence's id, as `silence list` shows it.") var id: String

        func run() async throws {
            guard try await withStore(try configOptions.load(), { try await $0.remove(id: id) }) else {
                printError("no silence with id \"\(id)\"")
                throw ExitCode(1)
            }
            print("removed silence \(id)")
        }
    }
}

/// Runs `body` with the silences of `configuration`'s deployment; a Redis failure prints why and
/// exits with status 1.
private func withStore<T: Sendable>(
    _ configuration: MonitorConfiguration,
    _ body: (SilenceStore) async throws -> T
) async throws -> T {
    let endpoint = try Environment.redisEndpoint()
    let client = RedisClient(RedisConnector(endpoint, routingKey: configuration.keyTag), name: "silences")
    do {
        let result = try await body(SilenceStore(client: client, configuration: configuration))
        await client.close()
        return result
    } catch {
        await client.close()
        printError("cannot reach the silences in Redis (\(endpoint)): \(error)")
        throw ExitCode(1)
    }
}
