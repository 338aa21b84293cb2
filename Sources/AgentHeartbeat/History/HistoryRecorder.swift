import AgentHeartbeatCore
import AgentHeartbeatRedis

/// Records each agent's state changes in its Redis list after a check (`RedisScript.recordHistory`).
/// Every replica that is not degraded records: the script keeps a change from being recorded twice
/// and an older view from following a newer one, so history needs no leader and survives any
/// replica's death. Only agents whose state differs from what this replica knows is recorded are
/// sent; every `fullPassEvery` checks all are, so history Redis lost is started again.
struct HistoryRecorder: Sendable {
    /// The agents `recorded` is about (shares the configuration's storage).
    private var agents: [MonitorConfiguration.Agent] = []
    /// Per agent, its state as recorded as far as this replica knows (`AgentHistoryState` index),
    /// or `Self.unknown`: a byte an agent, 100 KB at 100,000 agents.
    private var recorded: [UInt8] = []
    private var checksSinceFullPass = Int.max
    private static let unknown = UInt8.max
    private static let states = AgentHistoryState.allCases
    static let fullPassEvery = 10
    static let agentsPerScript = 500
    /// Scripts per round trip: the arguments of a full pass at 100,000 agents are built and sent
    /// 4,000 agents at a time, not all at once.
    static let scriptsPerRoundTrip = 8

    /// Records what `check` observed; returns how many agents were sent. Agents the check is
    /// `uncertain` about are skipped.
    mutating func record(
        _ check: HeartbeatChecker.MapCheck,
        configuration: MonitorConfiguration,
        client: RedisClient
    ) async throws -> Int {
        let states = check.result.states
        if agents != states.agents || checksSinceFullPass >= Self.fullPassEvery {
            recorded = Array(repeating: Self.unknown, count: states.agents.count)
            checksSinceFullPass = 0
        }
        // Sharing the configuration's storage, the next comparison is one pointer's.
        agents = states.agents
        checksSinceFullPass += 1
        let silenced = check.result.assessment.silenced
        let observe = { (index: Int) in
            HistoryObservation(
                states.evaluations[index],
                threshold: states.agents[index].offlineThresholdMilliseconds,
                failingAfter: states.rules[Int(states.agents[index].rulesIndex)].failingAfterHeartbeats,
                silence: silenced[index],
                now: states.now
            )
        }
        let sent = states.indices.filter { index in
            let state = AgentHistoryState(states.evaluations[index].condition, silenced: silenced[index] != nil)
            return recorded[index] != Self.code(state) && !check.uncertain.contains(index)
        }
        let limits = [
            String(states.now), String(states.now - configuration.historyRetention.wholeMilliseconds),
            String(StateChange.maximumKept),
        ]
        let perRoundTrip = Self.agentsPerScript * Self.scriptsPerRoundTrip
        var otherType: [String] = []
        for start in stride(from: 0, to: sent.count, by: perRoundTrip) {
            let batch = sent[start..<min(start + perRoundTrip, sent.count)]
            let commands = stride(from: batch.startIndex, to: batch.endIndex, by: Self.agentsPerScript).map { first in
                let chunk = batch[first..<min(first + Self.agentsPerScript, batch.endIndex)]
                return RedisCommand.eval(
                    .recordHistory,
                    keys: chunk.map { configuration.historyKey(for: states.agents[$0].id) },
                    arguments: limits
                        + chunk.flatMap { index in
                            let observation = observe(index)
                            return [observation.state.rawValue, String(observation.since), observation.reason]
                        }
                )
            }
            let replies = try await client.withConnection { connection throws(RedisError) in
                try connection.pipeline(commands)
            }
            for (number, reply) in replies.enumerated() {
                if case .error(let message) = reply {
                    throw RedisError(replying: message, context: "recording history")
                }
                for (offset, state) in (reply.array ?? []).enumerated() {
                    let index = batch[batch.startIndex + number * Self.agentsPerScript + offset]
                    if state.text == "!" { otherType.append(configuration.historyKey(for: states.agents[index].id)) }
                    recorded[index] =
                        state.text.flatMap(AgentHistoryState.init(rawValue:)).map(Self.code) ?? Self.unknown
                }
            }
        }
        if let first = otherType.first {
            let more = otherType.count > 1 ? " (and \(otherType.count - 1) more)" : ""
            throw RedisError(
                .commandFailed,
                "\(first)\(more) holds another type than a list: left alone (delete it to start that history"
                    + " again); the other agents' changes are recorded"
            )
        }
        return sent.count
    }

    private static func code(_ state: AgentHistoryState) -> UInt8 {
        UInt8(truncatingIfNeeded: states.firstIndex(of: state)!)
    }
}
