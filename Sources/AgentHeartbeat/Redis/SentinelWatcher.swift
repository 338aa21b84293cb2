import AgentHeartbeatCore
import AgentHeartbeatRedis
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Listens for `+switch-master` on one sentinel at a time and tells the connector, so every
/// connection follows a failover as soon as Sentinel announces it: a master that froze or was cut
/// off answers nothing, and its connections would otherwise wait out their command timeout.
public final class SentinelWatcher: Service, Sendable, CustomStringConvertible {
    public var description: String { "SentinelWatcher" }
    let connector: RedisConnector
    let url: SentinelURL
    let logger: Logger
    private let stopping = Atomic<Bool>(false)
    static let channel = "+switch-master"

    /// Nil unless the connector goes through Sentinel.
    public init?(_ connector: RedisConnector, logger: Logger) {
        guard case .sentinel(let url) = connector.endpoint else { return nil }
        self.connector = connector
        self.url = url
        self.logger = logger
    }

    public func run() async throws {
        let watching = Task { try? await JobThread.run(named: "sentinel-watch") { self.watch() } }
        try? await gracefulShutdown()
        stopping.store(true, ordering: .relaxed)
        await watching.value
    }

    private func watch() {
        var known: SentinelURL.Address?
        var backoff = Backoff(maximum: HeartbeatMirror.maximumBackoff)
        var failure: String?
        while !stopping.load(ordering: .relaxed) {
            do throws(RedisError) {
                let (connection, master) = try connector.askSentinels(url)
                // A switch announced while no sentinel was listened to is seen here.
                if let known, known != master {
                    switched(SentinelSwitch(masterName: url.masterName, old: known, new: master))
                }
                known = master
                try connection.append(.subscribe([Self.channel]))
                try connection.flush()
                if let lost = failure {
                    logger.notice("listening to Sentinel again", metadata: ["redis.lost": "\(lost)"])
                    failure = nil
                }
                backoff.reset()
                var probe = SilenceProbe("the sentinel")
                while !stopping.load(ordering: .relaxed) {
                    // Switches are rare: a sentinel that froze would be listened to forever.
                    try probe.check(connection)
                    guard try connection.waitForData(timeout: .milliseconds(250)) else { continue }
                    probe.heardFrom()
                    try connection.drainBufferedPushes { push in
                        guard push.kind == .message, let event = SentinelSwitch(payload: push.payload),
                            event.masterName == url.masterName
                        else { return }
                        switched(event)
                        known = event.new
                    }
                }
            } catch {
                if failure == nil {
                    logger.warning(
                        "cannot listen to Sentinel for master switches; connections follow a failover when they fail",
                        metadata: ["error": "\(error)"]
                    )
                }
                failure = error.description
                let until = ContinuousClock.now + backoff.next()
                while !stopping.load(ordering: .relaxed), ContinuousClock.now < until { usleep(50_000) }
            }
        }
    }

    private func switched(_ event: SentinelSwitch) {
        logger.notice(
            "Sentinel switched the master; reconnecting to the new one",
            metadata: ["master": "\(event.masterName)", "from": "\(event.old)", "to": "\(event.new)"]
        )
        connector.masterChanged()
    }
}
