/// One of an agent's `on_offline` actions: a command run without a shell, or a webhook. Run by
/// the leader while the agent is offline, at most `maxAttempts` times per outage, `backoff` apart.
public struct RecoveryAction: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// argv: the program (a path, or a name looked up in PATH) and its arguments, as written.
        case run([String])
        /// A JSON POST to the URL in this environment variable.
        case webhook(NotifierConfiguration.Variable)
    }

    public var kind: Kind
    /// The command is killed (the webhook abandoned) after this long.
    public var timeout: Duration = .seconds(30)
    public var maxAttempts = 3
    public var backoff: Duration = .seconds(60)

    public init(_ kind: Kind) {
        self.kind = kind
    }

    /// "restart attempted" names for people: the program's name, or "webhook".
    public var summary: String {
        switch kind {
        case .run(let argv): argv.first.map { String($0.split(separator: "/").last ?? "") } ?? "command"
        case .webhook: "webhook"
        }
    }

    /// What one outage's attempts left behind, kept in Redis (`{prefix}:actions`, field: the agent's
    /// id and the action's position): which outage, how many attempts, when the last started and
    /// how it ended. `outage` is the agent's last heartbeat before it (or when monitoring began
    /// without one), so a new outage starts counting afresh.
    public struct Record: Sendable, Equatable {
        public var outage: Int64
        public var attempts: Int
        public var lastAttempt: Int64
        /// "exit 0", "killed after 30s", "HTTP 200", "running", …
        public var result: String

        public init(outage: Int64, attempts: Int, lastAttempt: Int64, result: String) {
            self.outage = outage
            self.attempts = attempts
            self.lastAttempt = lastAttempt
            self.result = result
        }

        /// `outage|attempts|last_attempt_ms|result`
        public var encoded: String { "\(outage)|\(attempts)|\(lastAttempt)|\(result)" }

        public init?(encoded text: String) {
            let parts = text.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
            guard parts.count == 4, let outage = Int64(parts[0]), let attempts = Int(parts[1]),
                let last = Int64(parts[2])
            else { return nil }
            self.init(outage: outage, attempts: attempts, lastAttempt: last, result: String(parts[3]))
        }
    }

    /// Whether another attempt is due at `now` for the outage `outage`, given what the last left.
    public func isDue(outage: Int64, record: Record?, now: Int64) -> Bool {
        guard let record, record.outage == outage else { return true }
        return record.attempts < maxAttempts && now - record.lastAttempt >= backoff.wholeMilliseconds
    }
}
