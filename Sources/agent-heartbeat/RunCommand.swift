import AgentHeartbeat
import AgentHeartbeatCore
import ArgumentParser
import Foundation
import ServiceLifecycle

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the sidecar: mirror heartbeats into Redis and write the status map every check interval.",
        discussion: "SIGTERM or SIGINT stops subscribing, writes a final map and exits 0.")

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var loggingOptions: LoggingOptions
    @Option(help: "Status map path (default: $AGENT_HEARTBEAT_OUTPUT or hub/agent_heartbeat.json).")
    var output: String?

    func run() async throws {
        let configuration = try configOptions.load()
        let url = try Environment.redisURL()
        let logger = loggingOptions.bootstrap()
        let outputPath = output ?? Environment.outputPath
        logger.info(
            "starting",
            metadata: ["agents": "\(configuration.agents.count)", "redis": "\(url)", "output": "\(outputPath)"])

        let mirror = HeartbeatMirror(url: url, configuration: configuration, logger: logger)
        let client = RedisClient(url: url, name: "checker")
        let telegram = TelegramNotifier.Settings(environment: ProcessInfo.processInfo.environment)
        if telegram == nil {
            logger.warning("TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID is not set: offline agents are listed in the map, no notification is sent")
        }
        let alerts = AlertDispatcher(
            client: client, configuration: configuration, notifier: telegram.map(TelegramNotifier.init(settings:)),
            sendTimeout: telegram?.totalTimeout ?? .seconds(10), logger: logger)
        let checker = StatusCheckService(
            checker: HeartbeatChecker(client: client, configuration: configuration), alerts: alerts, outputPath: outputPath, logger: logger)
        // Shutdown runs in reverse order: the mirror stops and flushes first, then the checker writes the final map.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: checker), .init(service: mirror)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger))
        try await group.run()
        let stats = mirror.statistics.snapshot
        logger.info(
            "stopped",
            metadata: ["received": "\(stats.received)", "written": "\(stats.written)", "malformed": "\(stats.malformed)"])
    }
}
