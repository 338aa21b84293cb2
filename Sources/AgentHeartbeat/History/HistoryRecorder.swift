import AgentHeartbeatCore
import AgentHeartbeatRedis

/// Records each agent's state changes in its Redis stream after a check (`RedisScript.recordHistory`).
/// Every replica that is not degraded records: the script keeps a change from being recorded twice
/// and an older view from following a newer one, so history needs no leader and survives any
/// replica's death. Only agents whose state differs from what this replica knows is recorded are
/// sent; every `fullPassEvery` checks all are, so history Redis lost is started again.
struct HistoryRecorder: Sendable {
    /// Agent id → its state as recorded, as far as this replica knows.
    private var recorded: [String: AgentHistoryState] = [:]
    private var checksSinceFullPass = Int.max
    static let fullPassEvery = 10
    static let agentsPerScript = 500

    /// Records what `check` observed; returns how many agents were sent. Agents the check is
    /// `uncertain` about are skipped.
    mutating func record(
        _ check: HeartbeatChecker.MapCheck,
        configuration: MonitorConfiguration,
        client: RedisClient
    ) async throws -> Int {
        let states = check.result.states
        let silenced = check.result.assessment.silenced
        let fullPass = checksSinceFullPass >= Self.fullPassEvery
        var sent: [(id: String, observation: HistoryObservation)] = []
        for index in states.indices where !check.uncertain.contains(index) {
            let agent = states.agents[index]
            let observation = HistoryObservation(
                states.evaluations[index],
                threshold: agent.offlineThresholdMilliseconds,
                failingAfter: states.rules[Int(agent.rulesIndex)].failingAfterHeartbeats,
                silence: silenced[index],
                now: states.now
            )
            if fullPass || recorded[agent.id] != observation.state { sent.append((agent.id, observation)) }
        }
        if fullPass {
            recorded = [:]
            checksSinceFullPass = 0
        }
        checksSinceFullPass += 1
        guard !sent.isEmpty else { return 0 }
        let now = String(states.now)
        let keep = String(states.now - configuration.historyRetention.wholeMilliseconds)
        let commands = stride(from: 0, to: sent.count, by: Self.agentsPerScript).map { start in
            let chunk = sent[start..<min(start + Self.agentsPerScript, sent.count)]
            return RedisCommand.eval(
                .recordHistory,
                keys: chunk.map { configuration.historyKey(for: $0.id) },
                arguments: [now, keep]
                    + chunk.flatMap {
                        [$0.observation.state.rawValue, String($0.observation.since), $0.observation.reason]
                    }
            )
        }
        let replies = try await client.withConnection { connection throws(RedisError) in
            try connection.pipeline(commands)
        }
        for (number, reply) in replies.enumerated() {
            if case .error(let message) = reply { throw RedisError(replying: message, context: "recording history") }
            for (offset, state) in (reply.array ?? []).enumerated() {
                let id = sent[number * Self.agentsPerScript + offset].id
                recorded[id] = state.text.flatMap(AgentHistoryState.init(rawValue:))
            }
        }
        return sent.count
    }
}
