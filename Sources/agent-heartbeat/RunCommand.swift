import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import ArgumentParser
import Foundation
import Metrics
import Prometheus
import ServiceLifecycle

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the sidecar: mirror heartbeats, write the status map every check interval, alert, serve HTTP.",
        discussion: """
            SIGTERM or SIGINT stops subscribing, writes a final map and exits 0 within 10 seconds, whatever \
            Redis or the receivers do. SIGHUP reloads agents.yaml \
            (a changed file is also picked up every check; changed notifiers take effect at a restart). \
            Receivers: agents.yaml's `notifiers`, their secrets in the environment variables they name; \
            without them Telegram from TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID, TELEGRAM_API_URL, \
            TELEGRAM_TIMEOUT_SECONDS. AGENT_HEARTBEAT_WATCHDOG_URL: a dead man's switch \
            the leader pings after each check.
            """
    )

    @OptionGroup var configOptions: ConfigOptions
    @OptionGroup var loggingOptions: LoggingOptions
    @Option(help: "Status map path (default: $AGENT_HEARTBEAT_OUTPUT or hub/agent_heartbeat.json).")
    var output: String?
    @Option(help: "HTTP listen address host:port (default: $AGENT_HEARTBEAT_HTTP or 127.0.0.1:9464).")
    var http: String?

    func run() async throws {
        Malloc.configure()
        let configuration = try configOptions.load()
        let redis = RedisConnector(try Environment.redisEndpoint(), routingKey: configuration.keyTag)
        let httpText =
            http ?? Environment.value("AGENT_HEARTBEAT_HTTP") ?? SidecarHTTPServer.Address.default.description
        guard let address = SidecarHTTPServer.Address(httpText) else {
            printError("invalid HTTP listen address \"\(httpText)\": expected host:port")
            throw ExitCode(2)
        }
        let logger = loggingOptions.bootstrap()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        SidecarMetrics.declare()
        let outputPath = output ?? Environment.outputPath
        logger.info(
            "starting",
            metadata: [
                "agents": "\(configuration.agents.count)", "redis": "\(redis)", "output": "\(outputPath)",
                "http": "\(address)",
            ]
        )

        let store = ConfigurationStore(configuration, path: configOptions.configPath)
        let status = SidecarStatus()
        let mirror = HeartbeatMirror(redis, configurations: store, logger: logger)
        let client = RedisClient(redis, name: "checker")
        let notifiers = try configOptions.notifiers(for: configuration)
        if notifiers.isEmpty {
            logger.warning(
                """
                no notifiers: agents.yaml has no `notifiers` and TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID is not set; \
                offline agents are listed in the map, no notification is sent
                """
            )
        }
        let environment = ProcessInfo.processInfo.environment
        let actions = try configOptions.recoveryActions(for: configuration, client: client, logger: logger)
        let watchdog = Watchdog(environment: environment, logger: logger)
        let alerts = AlertDispatcher(
            client: client,
            notifiers: notifiers,
            actions: actions,
            status: status,
            logger: logger,
            competes: !notifiers.isEmpty || actions != nil || watchdog != nil
        )
        let checker = StatusCheckService(
            client: client,
            configurations: store,
            alerts: alerts,
            mirror: mirror.statistics,
            watchdog: watchdog,
            status: status,
            outputPath: outputPath,
            logger: logger
        )
        let server = SidecarHTTPServer.application(
            address: address,
            status: status,
            mirror: mirror,
            registry: registry,
            api: .init(
                configurations: store,
                client: RedisClient(redis, name: "api-redis"),
                token: environment["AGENT_HEARTBEAT_API_TOKEN"]
            ),
            logger: logger
        )
        // Shutdown runs in reverse order: the mirror stops and flushes first, then the checker writes
        // the final map, and the HTTP server answers probes until the end.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)]
                    + (SentinelWatcher(redis, logger: logger).map { [.init(service: $0)] } ?? [])
                    + [
                        .init(service: ReloadSignalService(store: store, logger: logger)),
                        .init(service: checker), .init(service: mirror),
                    ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger
            )
        )
        try await group.run()
        let stats = mirror.statistics.snapshot
        logger.info(
            "stopped",
            metadata: [
                "received": "\(stats.received)", "written": "\(stats.written)", "malformed": "\(stats.malformed)",
            ]
        )
    }
}
