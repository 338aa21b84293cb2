import AgentHeartbeatCore
import Logging
import ServiceLifecycle

/// Subscribes to every agent's channel and mirrors each heartbeat into the agent's TTL'd key.
///
/// Two dedicated threads: the subscriber drains the socket as fast as Redis sends (so Redis never
/// drops us for a full pub/sub output buffer), the writer stores the latest heartbeat per agent with
/// pipelined EVALSHA calls. Both reconnect with backoff and never give up while running.
public final class HeartbeatMirror: Service, Sendable, CustomStringConvertible {
    public var description: String { "HeartbeatMirror" }
    public let statistics = MirrorStatistics()
    let url: RedisURL
    let configuration: MonitorConfiguration
    let logger: Logger
    /// Commands per pipelined round trip.
    static let batchSize = 1000

    public init(url: RedisURL, configuration: MonitorConfiguration, logger: Logger) {
        self.url = url
        self.configuration = configuration
        self.logger = logger
    }

    /// Mirrors until graceful shutdown (or cancellation), then writes what is pending and returns.
    public func run() async throws {
        let pending = PendingHeartbeats()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.mirror(into: pending) }
            group.addTask {
                try? await gracefulShutdown()
                pending.close()
            }
            try await group.waitForAll()
        }
    }

    /// Mirrors for `duration`, then writes what is pending and returns (`check --listen`).
    public func mirror(for duration: Duration) async throws {
        let pending = PendingHeartbeats()
        async let mirrored: Void = mirror(into: pending)
        try? await Task.sleep(for: duration)
        pending.close()
        try await mirrored
    }

    /// Mirrors until `pending` is closed.
    func mirror(into pending: PendingHeartbeats) async throws {
        let subscriber = Subscriber(mirror: self, pending: pending)
        let writer = Writer(mirror: self, pending: pending)
        async let subscribed: Void = onDedicatedThread(name: "mirror-subscriber") { subscriber.run() }
        async let written: Void = onDedicatedThread(name: "mirror-writer") { writer.run() }
        _ = try await (subscribed, written)
    }
}

extension HeartbeatMirror {
    /// The subscriber thread: reads messages and hands them to the writer.
    final class Subscriber: @unchecked Sendable {
        // Only used from the subscriber thread.
        let mirror: HeartbeatMirror
        let pending: PendingHeartbeats
        let agentByChannel: [[UInt8]: Int]
        var limiter = RateLimiter<String>(interval: .seconds(60))
        static let message = Array("message".utf8)
        static let subscribe = Array("subscribe".utf8)

        init(mirror: HeartbeatMirror, pending: PendingHeartbeats) {
            self.mirror = mirror
            self.pending = pending
            var agentByChannel: [[UInt8]: Int] = [:]
            for (index, agent) in mirror.configuration.agents.enumerated() {
                agentByChannel[Array(agent.channel.utf8)] = index
            }
            self.agentByChannel = agentByChannel
        }

        func run() {
            let logger = mirror.logger
            var backoff = ReconnectBackoff()
            var outage: String?
            while !pending.isClosed {
                do {
                    let connection = try RedisConnection(url: mirror.url)
                    let channels = mirror.configuration.agents.map(\.channel)
                    for start in stride(from: 0, to: channels.count, by: HeartbeatMirror.batchSize) {
                        try connection.append(.subscribe(channels[start..<min(start + HeartbeatMirror.batchSize, channels.count)]))
                    }
                    try connection.flush()
                    if let reason = outage {
                        logger.notice("subscriber reconnected and resubscribed", metadata: ["redis.lost": "\(reason)"])
                        outage = nil
                    }
                    backoff.reset()
                    while !pending.isClosed {
                        guard try connection.waitForData(timeout: .milliseconds(250)) else { continue }
                        while let reply = try connection.nextBufferedReply() { handle(reply) }
                    }
                } catch {
                    mirror.statistics.subscribedChannels.store(0, ordering: .relaxed)
                    if outage == nil {
                        // Logged once per outage; the reconnected message closes it.
                        logger.error("subscriber lost Redis, reconnecting with backoff", metadata: ["error": "\(error)"])
                        mirror.statistics.connectionLosses.add(1, ordering: .relaxed)
                        outage = error.description
                    }
                    _ = pending.sleep(backoff.next())
                }
            }
            mirror.statistics.subscribedChannels.store(0, ordering: .relaxed)
        }

        func handle(_ reply: RedisReply) {
            guard let parts = reply.array, parts.count == 3, let kind = parts[0].bytes, let channel = parts[1].bytes else { return }
            guard kind == Self.message else {
                if kind == Self.subscribe, let count = parts[2].integer {
                    mirror.statistics.subscribedChannels.store(Int(count), ordering: .relaxed)
                }
                return
            }
            guard let agentIndex = agentByChannel[channel] else { return }
            let payload = parts[2].bytes ?? []
            mirror.statistics.received.add(1, ordering: .relaxed)
            switch HeartbeatPayload.parse(payload) {
            case .success:
                pending.add(agentIndex: agentIndex, payload: payload, error: nil)
            case .failure(let problem):
                // Still a heartbeat: the agent is alive, only its payload is unusable.
                mirror.statistics.malformed.add(1, ordering: .relaxed)
                pending.add(agentIndex: agentIndex, payload: [], error: problem.description)
                let agent = mirror.configuration.agents[agentIndex]
                if let suppressed = limiter.permit(agent.id) {
                    mirror.logger.warning(
                        "malformed heartbeat payload",
                        metadata: ["agent": "\(agent.id)", "problem": "\(problem)", "suppressed": "\(suppressed)"])
                }
            }
        }
    }

    /// The writer thread: stores pending heartbeats with pipelined EVALSHA calls.
    final class Writer: @unchecked Sendable {
        // Only used from the writer thread.
        let mirror: HeartbeatMirror
        let pending: PendingHeartbeats
        let keys: [String]
        let ttl: [UInt8]

        init(mirror: HeartbeatMirror, pending: PendingHeartbeats) {
            self.mirror = mirror
            self.pending = pending
            self.keys = mirror.configuration.agents.map { mirror.configuration.heartbeatKey(for: $0.id) }
            self.ttl = Array(String(mirror.configuration.keyTTL.wholeSeconds).utf8)
        }

        // Only used from the writer thread.
        var connection: RedisConnection?
        var scriptSHA = ""

        func run() {
            let logger = mirror.logger
            var backoff = ReconnectBackoff()
            var outage: String?
            while true {
                let batch = pending.take(limit: HeartbeatMirror.batchSize)
                if batch.isEmpty { return }
                do {
                    try write(batch)
                    if let reason = outage {
                        logger.notice("writer recovered", metadata: ["redis.lost": "\(reason)"])
                        outage = nil
                    }
                    backoff.reset()
                } catch {
                    if outage == nil {
                        // Logged once per outage; the recovered message closes it.
                        logger.error("writer cannot store heartbeats, retrying with backoff", metadata: ["error": "\(error)"])
                        mirror.statistics.connectionLosses.add(1, ordering: .relaxed)
                        outage = error.description
                    }
                    if pending.sleep(backoff.next()) {
                        // Shutting down while Redis fails: say what is lost instead of hanging.
                        logger.error("stopping with heartbeats not mirrored", metadata: ["count": "\(pending.count)"])
                        return
                    }
                }
            }
        }

        /// Stores a batch in one round trip; what Redis refused goes back to `pending`.
        func write(_ batch: [PendingHeartbeats.Heartbeat]) throws(RedisError) {
            do throws(RedisError) {
                if connection == nil {
                    let fresh = try RedisConnection(url: mirror.url)
                    scriptSHA = try fresh.call(.scriptLoad(.mirrorHeartbeat)).text ?? ""
                    connection = fresh
                }
                let replies = try connection!.pipeline(batch.map { heartbeat in
                    .evalSHA(scriptSHA, keys: [keys[heartbeat.agentIndex]], arguments: [ttl, heartbeat.payload, Array((heartbeat.error ?? "").utf8), []])
                })
                var refused: [PendingHeartbeats.Heartbeat] = []
                var firstError = ""
                for (heartbeat, reply) in zip(batch, replies) {
                    guard case .error(let message) = reply else { continue }
                    refused.append(heartbeat)
                    firstError = message
                }
                mirror.statistics.written.add(batch.count - refused.count, ordering: .relaxed)
                guard refused.isEmpty else {
                    pending.putBack(refused)
                    // NOSCRIPT: Redis restarted with an empty script cache; reconnecting loads it again.
                    if firstError.hasPrefix("NOSCRIPT") { connection = nil }
                    throw RedisError(.commandFailed, "Redis refused \(refused.count) writes: \(firstError)")
                }
            } catch {
                if error.breaksConnection {
                    connection = nil
                    pending.putBack(batch)
                }
                throw error
            }
        }
    }
}
