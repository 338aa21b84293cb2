import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import ArgumentParser
import Foundation

struct BeatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beat",
        abstract: "Publish one heartbeat for an agent, as the agent would.",
        discussion: """
            Publishes {"status": STATUS, "timestamp": NOW, KEY: VALUE...} on the agent's channel \
            (from agents.yaml when the agent is listed there, else agents:heartbeat:ID). \
            VALUEs that read as JSON numbers, true, false or null are sent as such.
            """
    )

    @OptionGroup var configOptions: ConfigOptions
    @Argument(help: "The agent's id.") var id: String
    @Option(help: "The status to report.") var status: String = "ok"
    @Option(name: .customLong("meta"), help: "Extra payload field as KEY=VALUE (repeatable).")
    var metadata: [String] = []

    func run() async throws {
        let (channel, sharded, tag) = try resolveChannel()
        var fields: [String: JSONValue] = [
            "status": .string(status),
            "timestamp": .string(iso8601(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))),
        ]
        for item in metadata {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ValidationError("--meta expects KEY=VALUE, got \"\(item)\"")
            }
            let value = String(item[item.index(after: equals)...])
            let decoded = try? JSONDecoder().decode(JSONValue.self, from: Data(value.utf8))
            fields[String(item[..<equals])] =
                switch decoded {
                case .integer, .number, .bool, .null: decoded!
                default: .string(value)
                }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let payload = Array(try encoder.encode(fields))
        let redis = RedisConnector(try Environment.redisEndpoint(), routingKey: tag)
        let client = RedisClient(redis, name: "publisher")
        let command: RedisCommand =
            sharded ? RedisCommand("SPUBLISH", [Array(channel.utf8), payload]) : .publish(channel, payload)
        do {
            let receivers = try await client.withConnection { connection throws(RedisError) in
                try connection.call(command).integer ?? 0
            }
            await client.close()
            print("published to \(channel) (\(receivers) subscriber\(receivers == 1 ? "" : "s"))")
        } catch {
            await client.close()
            printError("cannot publish to \(redis): \(error)")
            throw ExitCode(1)
        }
    }

    /// The agent's channel, and whether it is a shard channel (SPUBLISH, on the node of the
    /// deployment's hash tag).
    private func resolveChannel() throws -> (channel: String, sharded: Bool, tag: String) {
        guard id.utf8.allSatisfy({ $0 != 0x20 }), !id.isEmpty else {
            throw ValidationError("agent id must not be empty or contain spaces")
        }
        var configuration = MonitorConfiguration()
        if FileManager.default.fileExists(atPath: configOptions.configPath) { configuration = try configOptions.load() }
        let channel =
            configuration.agents.first { $0.id == id }?.channel ?? MonitorConfiguration.Agent.defaultChannel(for: id)
        return (channel, configuration.isSharded(channel: channel.utf8), configuration.keyTag)
    }
}
