import AgentHeartbeatCore
import AgentHeartbeatRedis

/// One check: read every agent's key and evaluate it against the Redis clock. Made once per
/// configuration: what depends only on it (the map's order, the chunks) is prepared here.
public struct HeartbeatChecker: Sendable {
    public let client: RedisClient
    public let configuration: MonitorConfiguration
    let reader: HeartbeatReader
    let plan: Assessment.Plan

    public init(client: RedisClient, configuration: MonitorConfiguration) {
        self.client = client
        self.configuration = configuration
        reader = HeartbeatReader(configuration: configuration)
        plan = Assessment.Plan(configuration)
    }

    public struct Result: Sendable {
        /// The Redis server's clock at the check, milliseconds since 1970.
        public var now: Int64
        /// This process's monotonic clock when `now` was read: later Redis times derive from it.
        public var readAt: ContinuousClock.Instant
        /// Just before the check's requests went out: records stored earlier are in `alertRecords`.
        public var requestedAt: ContinuousClock.Instant
        public var states: AgentStates
        /// What was last told about each agent and group (see `AlertRecord`).
        public var alertRecords: [String: AlertRecord]
        /// Silences, suppression and groups.
        public var assessment: Assessment
        let order: [Int]

        init(_ snapshot: HeartbeatReader.Snapshot, assessment: Assessment, order: [Int]) {
            now = snapshot.now
            readAt = snapshot.readAt
            requestedAt = snapshot.requestedAt
            states = snapshot.states
            alertRecords = snapshot.alertRecords
            self.assessment = assessment
            self.order = order
        }

        /// The Redis clock at `instant`, as far as this process's clock tells.
        public func serverMilliseconds(at instant: ContinuousClock.Instant) -> Int64 {
            clock.milliseconds(at: instant)
        }

        /// The Redis clock this check read, for what runs after it (the delivery workers).
        public var clock: ServerClock { ServerClock(serverMilliseconds: now, sent: readAt, received: readAt) }

        /// The agents notifications may be about (see `Assessment.subjects`).
        public func subjects(uncertain: Set<Int> = []) -> [AgentState] {
            assessment.subjects(of: states, alertRecords: alertRecords, uncertain: uncertain)
        }

        /// The status map of this result.
        public var statusMap: StatusMapRenderer {
            StatusMapRenderer(states: states, alertRecords: alertRecords, assessment: assessment, order: order)
        }
    }

    /// Reads and evaluates every agent.
    public func check() async throws -> Result {
        let snapshot = try await client.withConnection { [reader] connection in try reader.read(on: connection) }
        return Result(
            snapshot,
            assessment: Assessment(snapshot.states, plan: plan, silences: snapshot.silences),
            order: reader.order
        )
    }

    /// What `check(writingMapTo:…)` did.
    public struct MapCheck: Sendable {
        public var result: Result
        /// Why the map says it is degraded, if it does.
        public var degraded: String?
        /// Why the map could not be written (the previous one stays); the check itself is complete.
        public var mapFailure: (any Error)?
        /// Agents whose silence fell partly while this replica was not listening (`ListeningGaps`):
        /// what it tells of them is uncertain, and not recorded in their history.
        public var uncertain: Set<Int> = []
    }

    /// A check that writes the status map to `path` as it reads: each chunk of agents is rendered
    /// while Redis answers the next (rendered after the read, the map took as long again at 100,000
    /// agents), unless agents depend on others: whose trouble a dependency causes is only known
    /// once all are read. Silence while `mirror` was not listening, or held heartbeats it had not
    /// stored yet, is discounted first (see `ListeningGaps`); `degraded` is asked once everything is
    /// read. A map that cannot be written fails nothing else: the check's result still serves
    /// notifications.
    public func check(
        writingMapTo path: String,
        mirror: MirrorStatistics? = nil,
        degraded: @escaping @Sendable () -> String? = { nil }
    ) async throws -> MapCheck {
        try await client.withConnection { [reader, plan] connection in
            var mapFailure: (any Error)?
            var file: AtomicFile?
            // Not committed (a throw, a failed write), the file discards itself when released.
            do { file = try AtomicFile(path: path) } catch { mapFailure = error }
            let write = { (chunk: UnsafeRawBufferPointer) in
                guard mapFailure == nil, let file else { return }
                do { try file.write(chunk) } catch { mapFailure = error }
            }
            var map = StatusMapStream(agentCount: reader.agents.count)
            var listening: ListeningGaps?
            var uncertain: Set<Int> = []
            var assessment: Assessment?
            // Taken before anything is read: a heartbeat stored meanwhile may be missing from the read.
            let unstoredSince = mirror?.unstoredSince
            let snapshot = try reader.read(on: connection) { states, indices, readAt, silences in
                if listening == nil {
                    let now = states.now
                    listening =
                        mirror?.listeningGaps(unstoredSince: unstoredSince) { now + ($0 - readAt).wholeMilliseconds }
                        ?? ListeningGaps()
                    assessment = Assessment(plan: plan, agents: states.agents, silences: silences, now: now)
                }
                uncertain.formUnion(listening!.discounting(&states, at: indices))
                if !plan.hasDependencies { map.entries(of: states, at: indices, assessment: assessment!, to: write) }
            }
            var assessed =
                assessment
                ?? Assessment(
                    plan: plan,
                    agents: snapshot.states.agents,
                    silences: snapshot.silences,
                    now: snapshot.now
                )
            assessed.assess(snapshot.states, plan: plan)
            if plan.hasDependencies {
                map.entries(of: snapshot.states, at: reader.order[...], assessment: assessed, to: write)
            }
            let reason = degraded()
            map.end(
                states: snapshot.states,
                alertRecords: snapshot.alertRecords,
                assessment: assessed,
                degraded: reason,
                to: write
            )
            if mapFailure == nil, let file {
                do { try file.commit() } catch { mapFailure = error }
            }
            let result = Result(snapshot, assessment: assessed, order: reader.order)
            return MapCheck(result: result, degraded: reason, mapFailure: mapFailure, uncertain: uncertain)
        }
    }
}
