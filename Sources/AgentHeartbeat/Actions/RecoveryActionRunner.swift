import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers

/// Runs agents' `on_offline` actions, on the leader only, while an agent is offline (not silenced,
/// not held back by a dependency): at most `max_attempts` per outage, `backoff_seconds` apart.
///
/// An attempt is written to Redis (`{prefix}:actions`, fenced by the lock) before it starts, so a
/// leader killed meanwhile never lets its successor exceed the attempts; its result is written
/// when it ends, and the agent's next notification tells it.
///
/// Security: the command is argv as agents.yaml writes it, spawned without a shell; nothing an
/// agent sends reaches the argv. Agent data reaches it only in environment variables (AGENT_ID,
/// AGENT_NAME, AGENT_STATUS, AGENT_REPORTED_STATUS, SECONDS_OFFLINE, …), and the command gets no
/// other variable of the sidecar's but PATH, HOME and LANG: no Redis password, no receiver's secret.
public final class RecoveryActionRunner: Sendable {
    private let client: RedisClient
    private let environment: [String: String]
    private let logger: Logger
    /// "<agent>#<action>" while an attempt runs here.
    private let running = NIOLockedValueBox<Set<String>>([])

    public init(client: RedisClient, environment: [String: String], logger: Logger) {
        self.client = client
        self.environment = environment
        self.logger = logger
        for result in ["ok", "failed", "timeout"] {
            Counter(label: SidecarMetrics.Name.recoveryActions, dimensions: [("result", result)]).increment(by: 0)
        }
    }

    /// Every `webhook_env` an agent names must be set: an error at its line otherwise.
    public static func checkEnvironment(
        _ configuration: MonitorConfiguration,
        environment: [String: String],
        file: String
    ) throws(ConfigurationError) {
        for rules in configuration.rules {
            for action in rules.onOffline {
                guard case .webhook(let variable) = action.kind, environment[variable.name]?.isEmpty ?? true else {
                    continue
                }
                throw variable.missing(in: file, for: "an on_offline webhook")
            }
        }
    }

    /// The outage an offline agent is in: its last heartbeat, or when monitoring began without one.
    static func outage(of state: AgentState) -> Int64 { state.lastHeartbeat ?? state.missingSince ?? 0 }

    static func field(_ agent: String, _ action: Int) -> String { "\(agent)#\(action)" }

    /// What the actions did in each agent's current outage, for its next notification: agent id →
    /// "systemctl: attempt 1 of 3, exit 0". Only agents with actions are read.
    func notes(for states: [AgentState], configuration: MonitorConfiguration) async -> [String: String] {
        guard let read = await records(of: states, configuration: configuration) else { return [:] }
        var records = read.makeIterator()
        var notes: [String: String] = [:]
        for state in states {
            var parts: [String] = []
            for action in state.rules.onOffline {
                guard let record = records.next() ?? nil, record.outage == Self.outage(of: state) else { continue }
                parts.append("\(action.summary): attempt \(record.attempts) of \(action.maxAttempts), \(record.result)")
            }
            if !parts.isEmpty { notes[state.agent.id] = parts.joined(separator: "; ") }
        }
        return notes
    }

    /// Starts the attempts due now; returns without waiting for them.
    func start(_ states: [AgentState], lead: AlertDispatcher.Lead, now: Int64) async {
        let offline = states.filter {
            $0.condition == .offline && $0.silenced == nil && $0.suppressedBy == nil && !$0.rules.onOffline.isEmpty
        }
        guard !offline.isEmpty, let read = await records(of: offline, configuration: lead.configuration) else { return }
        var records = read.makeIterator()
        for state in offline {
            for (index, action) in state.rules.onOffline.enumerated() {
                let record = records.next() ?? nil
                let field = Self.field(state.agent.id, index)
                let outage = Self.outage(of: state)
                guard action.isDue(outage: outage, record: record, now: now),
                    running.withLockedValue({ $0.insert(field).inserted })
                else { continue }
                let attempt = record.map { $0.outage == outage ? $0.attempts + 1 : 1 } ?? 1
                let started = RecoveryAction.Record(
                    outage: outage,
                    attempts: attempt,
                    lastAttempt: now,
                    result: "running"
                )
                guard await store(started, field: field, lead: lead) else {
                    running.withLockedValue { _ = $0.remove(field) }
                    continue
                }
                Task { await self.attempt(action, started, state: state, field: field, lead: lead) }
            }
        }
    }

    private func attempt(
        _ action: RecoveryAction,
        _ started: RecoveryAction.Record,
        state: AgentState,
        field: String,
        lead: AlertDispatcher.Lead
    ) async {
        defer { running.withLockedValue { _ = $0.remove(field) } }
        let agent = state.agent
        logger.notice(
            "recovery action started",
            metadata: [
                "agent": "\(agent.id)", "action": "\(action.summary)",
                "attempt": "\(started.attempts) of \(action.maxAttempts)",
            ]
        )
        let (result, outcome, output) = await execute(action, state: state, attempt: started.attempts)
        Counter(label: SidecarMetrics.Name.recoveryActions, dimensions: [("result", outcome)]).increment()
        var finished = started
        finished.result = result
        _ = await store(finished, field: field, lead: lead)
        logger.log(
            level: outcome == "ok" ? .notice : .warning,
            "recovery action finished",
            metadata: [
                "agent": "\(agent.id)", "action": "\(action.summary)", "result": "\(result)",
                "attempt": "\(started.attempts) of \(action.maxAttempts)", "output": "\(output.prefix(1000))",
            ]
        )
    }

    /// Runs one attempt: its result for people, "ok" / "failed" / "timeout" for the metric, and
    /// what it printed.
    private func execute(
        _ action: RecoveryAction,
        state: AgentState,
        attempt: Int
    ) async -> (String, String, String) {
        let silent = state.secondsSilent ?? 0
        switch action.kind {
        case .run(let argv):
            var variables = ["LANG": "C.UTF-8", "PATH": environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"]
            if let home = environment["HOME"] { variables["HOME"] = home }
            variables["AGENT_ID"] = state.agent.id
            variables["AGENT_NAME"] = Self.clean(state.agent.name)
            variables["AGENT_STATUS"] = state.condition.rawValue
            variables["AGENT_REPORTED_STATUS"] = Self.clean(state.reportedStatus ?? "")
            variables["SECONDS_OFFLINE"] = String(silent)
            variables["AGENT_LAST_HEARTBEAT"] = state.lastHeartbeat.map { iso8601(milliseconds: $0) } ?? ""
            variables["RECOVERY_ATTEMPT"] = String(attempt)
            variables["RECOVERY_MAX_ATTEMPTS"] = String(action.maxAttempts)
            let runner = CommandRunner(argv: argv, environment: variables, timeout: action.timeout)
            let outcome =
                await (try? JobThread.run(named: "recovery-action") { runner.run() })
                ?? .init(end: .notStarted("cancelled"), output: "")
            let metric =
                switch outcome.end {
                case .exited(0): "ok"
                case .timedOut: "timeout"
                default: "failed"
                }
            return (outcome.summary(timeout: action.timeout), metric, outcome.output)
        case .webhook(let variable):
            let url = environment[variable.name] ?? ""
            let body = HTTPNotifier.json([
                "version": .integer(1), "kind": .string("recovery_action"), "attempt": .integer(Int64(attempt)),
                "max_attempts": .integer(Int64(action.maxAttempts)),
                "agent": .object([
                    "id": .string(state.agent.id), "name": .string(state.agent.name),
                    "status": .string(state.condition.rawValue), "seconds_offline": .integer(silent),
                    "reported_status": state.reportedStatus.map(JSONValue.string) ?? .null,
                ]),
            ])
            let client = HTTPClient(connectTimeout: min(.seconds(5), action.timeout), totalTimeout: action.timeout)
            let secrets = HTTPNotifier.secretParts(of: url)
            do {
                let response = try await JobThread.run(named: "recovery-webhook") {
                    try client.post(url: url, contentType: "application/json", body: Array(body.utf8))
                }
                let ok = (200..<300).contains(response.status)
                return ("HTTP \(response.status)", ok ? "ok" : "failed", "")
            } catch {
                return (redact("webhook failed: \(error)", secrets), "failed", "")
            }
        }
    }

    /// The records of every action of `states`, in order (one HMGET); nil when Redis did not answer.
    private func records(
        of states: [AgentState],
        configuration: MonitorConfiguration
    ) async -> [RecoveryAction.Record?]? {
        let fields = states.flatMap { state in state.rules.onOffline.indices.map { Self.field(state.agent.id, $0) } }
        guard !fields.isEmpty else { return nil }
        let command = RedisCommand("HMGET", [configuration.actionsKey] + fields)
        guard
            let reply = try? await client.withConnection({ connection throws(RedisError) in
                try connection.call(command).array
            }), reply.count == fields.count
        else { return nil }
        return reply.map { $0.text.flatMap(RecoveryAction.Record.init(encoded:)) }
    }

    /// Fenced HSET of one record. False when not stored (this replica no longer leads).
    private func store(_ record: RecoveryAction.Record, field: String, lead: AlertDispatcher.Lead) async -> Bool {
        let keys = [lead.configuration.leaderKey, lead.configuration.actionsKey]
        let command = RedisCommand.eval(.fencedHashSet, keys: keys, arguments: [lead.token, field, record.encoded])
        return
            (try? await client.withConnection { connection throws(RedisError) in
                try connection.call(command).integer == 1
            }) ?? false
    }

    /// Environment values cannot hold NUL; other bytes pass as they are, cut to 1,000 characters.
    static func clean(_ text: String) -> String { String(text.filter { $0 != "\0" }.prefix(1000)) }
}
