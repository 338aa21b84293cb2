import AgentHeartbeatCore
import Logging
import Metrics
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
    let configurations: ConfigurationStore
    let logger: Logger
    /// Commands per pipelined round trip.
    static let batchSize = 1000

    public init(url: RedisURL, configurations: ConfigurationStore, logger: Logger) {
        self.url = url
        self.configurations = configurations
        self.logger = logger
    }

    public convenience init(url: RedisURL, configuration: MonitorConfiguration, logger: Logger) {
        self.init(url: url, configurations: ConfigurationStore(configuration), logger: logger)
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
    /// The subscriber thread: reads messages and hands them to the writer; follows configuration reloads.
    final class Subscriber: @unchecked Sendable {
        // Only used from the subscriber thread.
        let mirror: HeartbeatMirror
        let pending: PendingHeartbeats
        /// One per agent ever subscribed (never reused, so an index stays valid across reloads).
        var slots: [Slot] = []
        /// Channel → slot, as subscribed on the live connection: the one hash lookup per message.
        var slotByChannel: [ChannelKey: Int] = [:]
        var generation = -1
        var limiter = RateLimiter<String>(interval: .seconds(60))
        /// Heartbeats read from one socket read, handed to the writer under one lock.
        var batch: [PendingHeartbeats.Heartbeat] = []

        struct Slot {
            var agentID: String
            /// Per-agent counters, nil above `SidecarMetrics.perAgentLimit` agents.
            var received: Counter?
            var malformed: Counter?

            init(agentID: String, perAgentMetrics: Bool) {
                self.agentID = agentID
                guard perAgentMetrics else { return }
                received = Counter(label: "agent_heartbeat_heartbeats_received_total", dimensions: [("agent", agentID)])
                malformed = Counter(label: "agent_heartbeat_malformed_payloads_total", dimensions: [("agent", agentID)])
            }
        }

        init(mirror: HeartbeatMirror, pending: PendingHeartbeats) {
            self.mirror = mirror
            self.pending = pending
        }

        func run() {
            let logger = mirror.logger
            var backoff = ReconnectBackoff()
            var outage: String?
            while !pending.isClosed {
                do {
                    let connection = try RedisConnection(url: mirror.url)
                    slotByChannel = [:]
                    try follow(mirror.configurations, on: connection)
                    if let reason = outage {
                        logger.notice("subscriber reconnected and resubscribed", metadata: ["redis.lost": "\(reason)"])
                        outage = nil
                    }
                    backoff.reset()
                    while !pending.isClosed {
                        if mirror.configurations.generation != generation { try follow(mirror.configurations, on: connection) }
                        guard try connection.waitForData(timeout: .milliseconds(250)) else { continue }
                        try connection.drainBufferedPushes { handle($0) }
                        mirror.statistics.received.add(batch.count, ordering: .relaxed)
                        pending.add(batch)
                        batch.removeAll(keepingCapacity: true)
                    }
                } catch {
                    mirror.statistics.received.add(batch.count, ordering: .relaxed)
                    pending.add(batch)
                    batch.removeAll(keepingCapacity: true)
                    mirror.statistics.subscribedChannels.store(0, ordering: .relaxed)
                    if outage == nil {
                        // Logged once per outage; the reconnected message closes it.
                        logger.error("subscriber lost Redis, reconnecting with backoff", metadata: ["error": "\(error)"])
                        mirror.statistics.recordConnectionLoss()
                        outage = error.description
                    }
                    _ = pending.sleep(backoff.next())
                }
            }
            mirror.statistics.subscribedChannels.store(0, ordering: .relaxed)
        }

        /// Subscribes to channels of agents added since the last call and unsubscribes removed ones.
        func follow(_ store: ConfigurationStore, on connection: RedisConnection) throws(RedisError) {
            generation = store.generation
            var wanted: [ChannelKey: String] = [:]
            for agent in store.current.agents { wanted[ChannelKey(Array(agent.channel.utf8))] = agent.id }
            let removed = slotByChannel.keys.filter { wanted[$0] == nil }
            let perAgentMetrics = SidecarMetrics.perAgent(wanted.count)
            var added: [ChannelKey] = []
            for (channel, id) in wanted {
                if let slot = slotByChannel[channel], slots[slot].agentID == id { continue }
                if slotByChannel[channel] == nil { added.append(channel) }
                slots.append(Slot(agentID: id, perAgentMetrics: perAgentMetrics))
                slotByChannel[channel] = slots.count - 1
            }
            for channel in removed { slotByChannel[channel] = nil }
            for (command, channels) in [("SUBSCRIBE", added), ("UNSUBSCRIBE", removed)] {
                for start in stride(from: 0, to: channels.count, by: HeartbeatMirror.batchSize) {
                    try connection.append(RedisCommand(command, channels[start..<min(start + HeartbeatMirror.batchSize, channels.count)].map(\.bytes)))
                }
            }
            try connection.flush()
            mirror.statistics.expectedChannels.store(wanted.count, ordering: .relaxed)
        }

        func handle(_ push: borrowing RedisPush) {
            guard push.kind == .message else {
                mirror.statistics.subscribedChannels.store(push.subscriptions, ordering: .relaxed)
                return
            }
            guard let index = slotByChannel[ChannelKey(borrowing: push.channel)] else { return }
            let slot = slots[index]
            slot.received?.increment()
            let problem = HeartbeatPayload.problem(with: push.payload)
            // The payload's one copy out of hiredis is already what the key stores.
            batch.append(.init(slot: index, agentID: slot.agentID, fields: HeartbeatRecord.storedFields(payload: push.payload, problem: problem)))
            guard let problem else { return }
            // Still a heartbeat: the agent is alive, only its payload is unusable.
            mirror.statistics.malformed.add(1, ordering: .relaxed)
            slot.malformed?.increment()
            if let suppressed = limiter.permit(slot.agentID) {
                mirror.logger.warning(
                    "malformed heartbeat payload",
                    metadata: ["agent": "\(slot.agentID)", "problem": "\(problem)", "suppressed": "\(suppressed)"])
            }
        }
    }

    /// The writer thread: stores pending heartbeats with pipelined EVALSHA calls.
    final class Writer: @unchecked Sendable {
        // Only used from the writer thread.
        let mirror: HeartbeatMirror
        let pending: PendingHeartbeats

        init(mirror: HeartbeatMirror, pending: PendingHeartbeats) {
            self.mirror = mirror
            self.pending = pending
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
                        mirror.statistics.recordConnectionLoss()
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
                // Key and TTL from the configuration of the moment, so a reload applies to the next write.
                let configuration = mirror.configurations.current
                let ttl = Array(String(configuration.keyTTL.wholeSeconds).utf8)
                let replies = try connection!.pipeline(batch.map { heartbeat in
                    .evalSHA(
                        scriptSHA, keys: [configuration.heartbeatKey(for: heartbeat.agentID)],
                        arguments: [ttl, heartbeat.fields, []])
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
