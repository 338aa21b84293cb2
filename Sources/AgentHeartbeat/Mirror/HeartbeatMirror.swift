import AgentHeartbeatCore
import AgentHeartbeatRedis
import Logging
import Metrics
import ServiceLifecycle

/// Subscribes to every agent's channel and mirrors each heartbeat into the agent's TTL'd key.
///
/// Two dedicated threads: the subscriber drains the socket as fast as Redis sends (so Redis never
/// drops us for a full pub/sub output buffer), the writer stores the latest heartbeat per agent with
/// pipelined EVALSHA calls. Both go through outages alike (`MirrorOutage`) and never give up while running.
public final class HeartbeatMirror: Service, Sendable, CustomStringConvertible {
    public var description: String { "HeartbeatMirror" }
    public let statistics = MirrorStatistics()
    let connector: RedisConnector
    let configurations: ConfigurationStore
    let logger: Logger
    /// Commands per pipelined round trip.
    static let batchSize = 1000
    /// Longest wait between reconnect attempts: after a fault the mirror is back within it, so the
    /// map is right again within a check interval and this.
    static let maximumBackoff = Duration.seconds(2)

    public init(_ connector: RedisConnector, configurations: ConfigurationStore, logger: Logger) {
        self.connector = connector
        self.configurations = configurations
        self.logger = logger
    }

    public convenience init(url: RedisURL, configurations: ConfigurationStore, logger: Logger) {
        self.init(RedisConnector(.server(url)), configurations: configurations, logger: logger)
    }

    public convenience init(url: RedisURL, configuration: MonitorConfiguration, logger: Logger) {
        self.init(url: url, configurations: ConfigurationStore(configuration), logger: logger)
    }

    /// How long the writer may go on storing what is pending once shutdown began.
    static let flushBudget = Duration.seconds(2)

    /// Mirrors until graceful shutdown (or cancellation), then writes what is pending, for at most
    /// `flushBudget`: a frozen Redis must not hold the shutdown up.
    public func run() async throws {
        let pending = PendingHeartbeats()
        let mirroring = Task { try await self.mirror(into: pending) }
        try? await gracefulShutdown()
        pending.close()
        if await withDeadline(Self.flushBudget, { _ = try? await mirroring.value }) == nil {
            logger.error(
                "stopping with heartbeats not mirrored: Redis did not answer in time",
                metadata: ["count": "\(pending.count)"]
            )
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
        statistics.tracking(pending)
        // Each made on its thread and never leaving it: they hold a hiredis connection.
        async let subscribed: Void = JobThread.run(named: "mirror-subscriber") { [self] in
            Subscriber(mirror: self, pending: pending).run()
        }
        async let written: Void = JobThread.run(named: "mirror-writer") { [self] in
            Writer(mirror: self, pending: pending).run()
        }
        _ = try await (subscribed, written)
    }
}

extension HeartbeatMirror {
    /// The subscriber thread: reads messages and hands them to the writer; follows configuration reloads.
    final class Subscriber {
        let mirror: HeartbeatMirror
        let pending: PendingHeartbeats
        /// One per agent ever subscribed (never reused, so an index stays valid across reloads).
        var slots: [Slot] = []
        /// Channel → slot, as subscribed on the live connection: the one lookup per message.
        var index = ChannelIndex(capacity: 0)
        var generation = -1
        /// When the last (UN)SUBSCRIBE was sent.
        var followed = ContinuousClock.now
        var limiter = RateLimiter<String>(interval: .seconds(60))
        /// Channels Redis confirmed on the live connection, as it counts them: classic and shard apart.
        var classicSubscriptions = 0
        var shardSubscriptions = 0
        /// The hash tag that made channels shard channels when they were subscribed.
        var shardTag: String?
        var hasShardChannels = false
        /// Heartbeats read from one socket read, handed to the writer under one lock.
        var batch: [PendingHeartbeats.Heartbeat] = []
        /// Every heartbeat received, all agents together (the per-agent series stop at 1,000 agents).
        let heartbeats = Counter(label: SidecarMetrics.Name.heartbeats)

        /// 32 bytes an agent: the id, a channel other than the default one, and the counters (the
        /// channel kept whole and a counter each took 56 bytes, 2.4 MB at 100,000 agents).
        struct Slot {
            let agentID: String
            private let customChannel: [UInt8]?
            /// Per-agent counters, nil above `SidecarMetrics.perAgentLimit` agents.
            let metrics: Metrics?

            final class Metrics {
                let received: Counter
                let malformed: Counter

                init(agentID: String) {
                    received = Counter(label: SidecarMetrics.Name.heartbeatsReceived, dimensions: [("agent", agentID)])
                    malformed = Counter(label: SidecarMetrics.Name.malformedPayloads, dimensions: [("agent", agentID)])
                }
            }

            init(agentID: String, channel: ChannelKey, perAgentMetrics: Bool) {
                self.agentID = agentID
                customChannel = channel.customBytes
                metrics = perAgentMetrics ? Metrics(agentID: agentID) : nil
            }

            var channel: ChannelKey { ChannelKey(agentID: agentID, customBytes: customChannel) }
        }

        init(mirror: HeartbeatMirror, pending: PendingHeartbeats) {
            self.mirror = mirror
            self.pending = pending
        }

        func run() {
            var outage = MirrorOutage(.subscriber, statistics: mirror.statistics, logger: mirror.logger)
            /// Every channel confirmed on the live connection (see `ListeningGaps`).
            var listening = false
            while !pending.isClosed {
                do throws(RedisError) {
                    let connection = try mirror.connector.connect()
                    try follow(mirror.configurations, on: connection, fresh: true)
                    var probe = SilenceProbe("Redis")
                    // When the socket was last found empty, and whether bytes may wait there now:
                    // heartbeats that reached this replica, unread since then.
                    var emptyAt = ContinuousClock.now
                    var behind = false
                    while !pending.isClosed {
                        // A cluster delivers PUBLISH on every node: the subscriber moves only when its node
                        // fails, unless it listens to shard channels, which live on the owner of the slot.
                        guard
                            (mirror.connector.isCluster && !hasShardChannels) || mirror.connector.isCurrent(connection)
                        else {
                            throw RedisError(.notMaster, "the master changed; subscribing on the new one")
                        }
                        if mirror.configurations.generation != generation {
                            try follow(mirror.configurations, on: connection)
                        }
                        let waited = ContinuousClock.now
                        if try connection.waitForData(timeout: .milliseconds(250)) {
                            probe.heardFrom()
                            let arrived = ContinuousClock.now
                            try connection.drainBufferedPushes { handle($0, arrived: arrived) }
                            mirror.statistics.received.add(batch.count, ordering: .relaxed)
                            heartbeats.increment(by: batch.count)
                            pending.add(batch)
                            batch.removeAll(keepingCapacity: true)
                        }
                        let unread = !connection.emptiedSocket
                        if !unread { emptyAt = waited }
                        if unread != behind {
                            behind = unread
                            mirror.statistics.unread(since: unread ? emptyAt : nil)
                        }
                        // A server that froze (or a cluster node cut off, whose slots moved) sends nothing.
                        try probe.check(connection)
                        // Only Redis' confirmations count: a SUBSCRIBE sent is not a subscription.
                        guard mirror.statistics.isSubscribed else {
                            if ContinuousClock.now - followed > subscribeGrace {
                                let snapshot = mirror.statistics.snapshot
                                throw RedisError(
                                    .unexpectedReply,
                                    "Redis confirmed \(snapshot.subscribedChannels) of \(snapshot.expectedChannels)"
                                        + " channels after \(subscribeGrace); resubscribing"
                                )
                            }
                            continue
                        }
                        if !listening {
                            mirror.statistics.startedListening()
                            listening = true
                        }
                        outage.recovered()
                    }
                } catch {
                    mirror.statistics.received.add(batch.count, ordering: .relaxed)
                    heartbeats.increment(by: batch.count)
                    pending.add(batch)
                    batch.removeAll(keepingCapacity: true)
                    mirror.statistics.subscribedChannels.store(0, ordering: .relaxed)
                    mirror.statistics.unread(since: nil)
                    mirror.statistics.stoppedListening()
                    listening = false
                    let generation = mirror.connector.generation
                    // A new master (Sentinel's +switch-master) ends the wait: connect to it at once.
                    _ = pending.sleep(outage.failed(error)) { mirror.connector.generation != generation }
                }
            }
            mirror.statistics.subscribedChannels.store(0, ordering: .relaxed)
        }

        /// How long Redis may take to confirm every SUBSCRIBE before the connection is replaced.
        var subscribeGrace: Duration { .seconds(5) + .milliseconds(mirror.statistics.snapshot.expectedChannels / 10) }

        typealias Command = ([[UInt8]]) -> RedisCommand

        /// Subscribes to channels of agents added since the last call and unsubscribes removed ones;
        /// on a `fresh` connection, subscribes to every channel. An agent keeps its slot across
        /// reconnects (each used to add a slot per agent: 5 MB more at 100,000 agents each time).
        func follow(
            _ store: ConfigurationStore,
            on connection: RedisConnection,
            fresh: Bool = false
        ) throws(RedisError) {
            generation = store.generation
            let configuration = store.current
            // Which channels are sharded depends on the tag: a new one makes a fresh start.
            if !fresh, shardTag != configuration.keyPrefix {
                throw RedisError(.connectionLost, "key_prefix changed; subscribing afresh")
            }
            if fresh { (classicSubscriptions, shardSubscriptions) = (0, 0) }
            shardTag = configuration.keyPrefix
            let agents = configuration.agents
            var wanted: [ChannelKey: String] = [:]
            wanted.reserveCapacity(agents.count)
            for agent in agents { wanted[ChannelKey(agent)] = agent.id }
            let removed = fresh ? [] : index.slots.map { slots[$0].channel }.filter { wanted[$0] == nil }
            let perAgentMetrics = SidecarMetrics.perAgent(wanted.count)
            var added: [ChannelKey] = []
            var next = ChannelIndex(capacity: wanted.count)
            if slots.isEmpty { slots.reserveCapacity(wanted.count) }  // appending would leave up to half unused
            for (channel, id) in wanted {
                let current = index.slot(for: channel) { slots[$0].channel }
                if fresh || current == nil { added.append(channel) }
                if let current, slots[current].agentID == id {
                    next.insert(current, channel: channel)
                } else {
                    // A new agent, or a channel moved to another agent: a new slot.
                    slots.append(Slot(agentID: id, channel: channel, perAgentMetrics: perAgentMetrics))
                    next.insert(slots.count - 1, channel: channel)
                }
            }
            index = next
            mirror.statistics.slots.store(slots.count, ordering: .relaxed)
            // A channel that carries the deployment's hash tag is a shard channel (SPUBLISH); they
            // all share one slot, so one SSUBSCRIBE may hold many. Encoded 1,000 channels at a time.
            // (A removed last shard channel leaves `hasShardChannels` set: the subscriber then only
            // follows the master more.)
            if fresh { hasShardChannels = false }
            let batches: [(channels: [ChannelKey], classic: Command, shard: Command, adding: Bool)] = [
                (added, RedisCommand.subscribe, RedisCommand.shardSubscribe, true),
                (removed, RedisCommand.unsubscribe, RedisCommand.shardUnsubscribe, false),
            ]
            for (channels, classic, shard, adding) in batches {
                for start in stride(from: 0, to: channels.count, by: HeartbeatMirror.batchSize) {
                    let end = min(start + HeartbeatMirror.batchSize, channels.count)
                    let (shards, others) = channels[start..<end].lazy.map(\.bytes).partitioned {
                        configuration.isSharded(channel: $0)
                    }
                    if !others.isEmpty { try connection.append(classic(others)) }
                    if !shards.isEmpty { try connection.append(shard(shards)) }
                    if adding, !shards.isEmpty { hasShardChannels = true }
                }
            }
            try connection.flush()
            followed = .now
            mirror.statistics.expectedChannels.store(wanted.count, ordering: .relaxed)
        }

        func handle(_ push: borrowing RedisPush, arrived: ContinuousClock.Instant) {
            guard push.kind == .message else {
                // Redis counts shard channels apart from the others.
                if push.sharded {
                    shardSubscriptions = push.subscriptions
                } else {
                    classicSubscriptions = push.subscriptions
                }
                mirror.statistics.subscribedChannels.store(
                    classicSubscriptions + shardSubscriptions,
                    ordering: .relaxed
                )
                return
            }
            let channel = ChannelKey(borrowing: push.channel)
            guard let found = index.slot(for: channel, channel: { slots[$0].channel }) else { return }
            let slot = slots[found]
            slot.metrics?.received.increment()
            let problem = HeartbeatPayload.problem(with: push.payload)
            // The payload's one copy out of hiredis is already what the key stores.
            let fields = HeartbeatRecord.storedFields(payload: push.payload, problem: problem)
            batch.append(.init(slot: found, agentID: slot.agentID, fields: fields, arrived: arrived))
            guard let problem else { return }
            // Still a heartbeat: the agent is alive, only its payload is unusable.
            mirror.statistics.malformed.add(1, ordering: .relaxed)
            slot.metrics?.malformed.increment()
            if let suppressed = limiter.permit(slot.agentID) {
                mirror.logger.warning(
                    "malformed heartbeat payload",
                    metadata: ["agent": "\(slot.agentID)", "problem": "\(problem)", "suppressed": "\(suppressed)"]
                )
            }
        }
    }

    /// The writer thread: stores pending heartbeats with pipelined EVALSHA calls, each stamped
    /// with its arrival time on the Redis clock (see `ServerClock`), never the time of the write.
    final class Writer {
        let mirror: HeartbeatMirror
        let pending: PendingHeartbeats
        var connection: RedisConnection?
        var scriptSHA = ""
        var clock: ServerClock?
        var storeArguments: (configuration: MonitorConfiguration, arguments: StoreArguments)?
        /// How often the clock is read again, for drift and for a server clock that was stepped.
        static let clockRefresh = Duration.seconds(10)
        /// TIME calls per reading of the clock (three round trips every 10 s).
        static let clockSamples = 3

        init(mirror: HeartbeatMirror, pending: PendingHeartbeats) {
            self.mirror = mirror
            self.pending = pending
        }

        func run() {
            var outage = MirrorOutage(.writer, statistics: mirror.statistics, logger: mirror.logger)
            var redirected = false
            while true {
                let batch = pending.take(limit: HeartbeatMirror.batchSize)
                if batch.isEmpty { return }
                do {
                    // Stored or put back, the batch is done with either way.
                    defer { pending.done() }
                    try write(batch)
                    outage.recovered()
                    redirected = false
                } catch {
                    // MOVED after a slot migration, READONLY after a failover: the refused heartbeats
                    // are pending again; try them once at once where the data is now.
                    if error.code == .notMaster && !redirected {
                        redirected = true
                        continue
                    }
                    let generation = mirror.connector.generation
                    if pending.sleep(outage.failed(error), unless: { mirror.connector.generation != generation }) {
                        // Shutting down while Redis fails: say what is lost instead of hanging.
                        mirror.logger.error(
                            "stopping with heartbeats not mirrored",
                            metadata: ["count": "\(pending.count)"]
                        )
                        return
                    }
                }
            }
        }

        /// Stores a batch in one round trip. Whatever was not stored goes back to `pending` (unless
        /// a newer heartbeat of the same agent arrived meanwhile), whatever the failure. Without
        /// `series`, only the heartbeats' keys are written (see TRYAGAIN below).
        func write(_ batch: [PendingHeartbeats.Heartbeat], series: Bool = true) throws(RedisError) {
            let replies: [RedisReply]
            // Key and TTL from the configuration of the moment, so a reload applies to the next write.
            let configuration = mirror.configurations.current
            // Made once per configuration: declared metrics make it a lookup over every agent.
            if storeArguments?.configuration != configuration {
                storeArguments = (configuration, StoreArguments(configuration))
            }
            let arguments = storeArguments!.arguments
            do throws(RedisError) {
                let connection = try ready()
                replies = try connection.pipeline(
                    batch.map { store($0, configuration: configuration, arguments: arguments, series: series) }
                )
            } catch {
                // Start afresh: a new connection loads the script and reads the clock again.
                connection = nil
                pending.putBack(batch)
                throw error
            }
            var refused: [PendingHeartbeats.Heartbeat] = []
            var firstError = ""
            var asked: [ClusterRedirect: [PendingHeartbeats.Heartbeat]] = [:]
            var split: [PendingHeartbeats.Heartbeat] = []
            for (heartbeat, reply) in zip(batch, replies) {
                guard case .error(let message) = reply else { continue }
                if let redirect = ClusterRedirect(message), redirect.kind == .ask {
                    asked[redirect, default: []].append(heartbeat)
                } else if series, message.hasPrefix("TRYAGAIN") {
                    split.append(heartbeat)
                } else {
                    refused.append(heartbeat)
                    firstError = message
                }
            }
            for (redirect, heartbeats) in asked {
                do throws(RedisError) {
                    try write(
                        heartbeats,
                        askingAt: redirect,
                        configuration: configuration,
                        arguments: arguments,
                        series: series
                    )
                } catch {
                    refused += heartbeats
                    firstError = error.message
                }
            }
            // While the deployment's slot migrates, an agent whose heartbeat and series keys are not
            // both on one node (or whose series does not exist yet) gets TRYAGAIN for the two keys,
            // for as long as the migration lasts: its heartbeat is stored alone, the minute's point
            // skipped. (That write counts and puts back for itself.)
            var splitError: RedisError?
            if !split.isEmpty {
                do throws(RedisError) { try write(split, series: false) } catch { splitError = error }
            }
            mirror.statistics.written.add(batch.count - refused.count - split.count, ordering: .relaxed)
            guard refused.isEmpty else {
                pending.putBack(refused)
                // NOSCRIPT: Redis restarted with an empty script cache; reconnecting loads it again.
                // READONLY, MASTERDOWN, MOVED: the data moved; reconnecting finds it.
                if firstError.hasPrefix("NOSCRIPT") { connection = nil }
                if RedisError.saysNotMaster(firstError) {
                    connection = nil
                    mirror.connector.masterChanged()
                }
                throw RedisError(replying: firstError, context: "Redis refused \(refused.count) writes")
            }
            if let splitError { throw splitError }
        }

        /// Writes heartbeats whose keys have already moved to the node a slot migrates to: each
        /// after ASKING, in one round trip. (EVAL, not EVALSHA: that node may not have the script.)
        private func write(
            _ heartbeats: [PendingHeartbeats.Heartbeat],
            askingAt redirect: ClusterRedirect,
            configuration: MonitorConfiguration,
            arguments shared: StoreArguments,
            series: Bool
        ) throws(RedisError) {
            let node = try mirror.connector.connect(to: redirect)
            let replies = try node.pipeline(
                heartbeats.flatMap {
                    [
                        RedisCommand("ASKING"),
                        store($0, configuration: configuration, arguments: shared, loaded: false, series: series),
                    ]
                }
            )
            if let message = replies.lazy.compactMap({ reply -> String? in
                if case .error(let message) = reply { return message }
                return nil
            }).first {
                // The series not moved yet, or not made yet (see `write(_:series:)`): the heartbeats alone.
                if series, message.hasPrefix("TRYAGAIN") {
                    return try write(
                        heartbeats,
                        askingAt: redirect,
                        configuration: configuration,
                        arguments: shared,
                        series: false
                    )
                }
                throw RedisError(replying: message, context: "writing at \(redirect.host):\(redirect.port) after ASK")
            }
        }

        /// The mirror script's call for one heartbeat: EVALSHA, or EVAL where it may not be `loaded`.
        private func store(
            _ heartbeat: PendingHeartbeats.Heartbeat,
            configuration: MonitorConfiguration,
            arguments shared: StoreArguments,
            loaded: Bool = true,
            series: Bool = true
        ) -> RedisCommand {
            let keys =
                [configuration.heartbeatKey(for: heartbeat.agentID)]
                + (series ? [configuration.seriesKey(for: heartbeat.agentID)] : [])
            // Read here, not as it arrives: a burst leaves one heartbeat per agent to read.
            let facts = HeartbeatFacts(
                storedFields: heartbeat.fields,
                isFailing: shared.isFailing,
                metricNames: shared.metricNames[heartbeat.agentID] ?? []
            )
            let arguments =
                [
                    shared.ttl, heartbeat.fields, Array(String(clock!.milliseconds(at: heartbeat.arrived)).utf8),
                    facts.failing ? StoreArguments.yes : StoreArguments.no, HeartbeatFacts.hex(facts.payloadHash),
                    facts.instanceHash.map(HeartbeatFacts.hex) ?? [], shared.restartsKept, shared.restartHorizon,
                    shared.seriesPoints,
                ] + facts.metrics
            guard loaded else {
                let script = RedisScript.mirrorHeartbeat.source
                return RedisCommand(
                    "EVAL",
                    [Array(script.utf8), Array(String(keys.count).utf8)] + keys.map { Array($0.utf8) } + arguments
                )
            }
            return .evalSHA(scriptSHA, keys: keys, arguments: arguments)
        }

        /// The connection, with the script loaded and a recent reading of the server clock.
        private func ready() throws(RedisError) -> RedisConnection {
            guard let connection = self.connection, mirror.connector.isCurrent(connection) else {
                let fresh = try mirror.connector.connect()
                scriptSHA = try fresh.call(.scriptLoad(.mirrorHeartbeat)).text ?? ""
                self.connection = fresh
                clock = nil
                return try ready()
            }
            if clock.map({ ContinuousClock.now - $0.instant > Self.clockRefresh }) ?? true {
                // The sample with the shortest round trip: a thread descheduled around one reply
                // (a busy machine) would shift every arrival time by half that delay.
                var best: ServerClock?
                for _ in 0..<Self.clockSamples {
                    let sent = ContinuousClock.now
                    let time = try connection.call(.time).serverMilliseconds()
                    let sample = ServerClock(serverMilliseconds: time, sent: sent, received: .now)
                    if best.map({ sample.roundTrip < $0.roundTrip }) ?? true { best = sample }
                }
                clock = best
            }
            return connection
        }
    }
}

/// The arguments of the heartbeat script that depend only on the configuration.
struct StoreArguments {
    var ttl: [UInt8]
    /// Restart times a record keeps, and for how long: enough for every agent's rules.
    var restartsKept: [UInt8]
    var restartHorizon: [UInt8]
    var failingStatuses: Set<String>
    /// Per-minute points each series keeps.
    var seriesPoints: [UInt8]
    /// Agent id → its declared metrics, for agents that have some.
    var metricNames: [String: [String]] = [:]
    static let yes = Array("1".utf8)
    static let no = Array("0".utf8)

    func isFailing(_ status: String) -> Bool { MonitorConfiguration.isFailing(status, in: failingStatuses) }

    init(_ configuration: MonitorConfiguration) {
        failingStatuses = configuration.failingStatuses
        ttl = Array(String(configuration.keyTTL.wholeSeconds).utf8)
        restartsKept = Array(String(configuration.rules.map(\.maxRestarts).max()! + 1).utf8)
        restartHorizon = Array(String(configuration.rules.map(\.restartWindow.wholeMilliseconds).max()!).utf8)
        seriesPoints = Array(String(configuration.seriesRetentionMinutes).utf8)
        if configuration.rules.contains(where: { !$0.metrics.isEmpty }) {
            for agent in configuration.agents {
                let names = configuration.rules(of: agent).metrics
                if !names.isEmpty { metricNames[agent.id] = names }
            }
        }
    }
}

extension Sequence {
    /// The elements that match, and the others, in order.
    func partitioned(by matches: (Element) -> Bool) -> ([Element], [Element]) {
        var (yes, no): ([Element], [Element]) = ([], [])
        for element in self {
            if matches(element) { yes.append(element) } else { no.append(element) }
        }
        return (yes, no)
    }
}
