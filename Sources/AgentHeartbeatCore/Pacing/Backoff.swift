/// Delays between retries (reconnecting to Redis, redelivering a notification): doubling from
/// `initial` up to `maximum`, with jitter so replicas that failed together do not retry in lockstep.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    private var attempt = 0

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the next attempt; `jitter` scales it (0.8...1.2 by default).
    public mutating func next(jitter: Double = .random(in: 0.8...1.2)) -> Duration {
        let base = min(maximum, initial * (1 << min(attempt, 20)))
        attempt += 1
        return base * jitter
    }

    public mutating func reset() { attempt = 0 }
}
