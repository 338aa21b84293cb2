/// Lets one event per key through per interval and counts the ones it held back,
/// so a misbehaving agent cannot flood the logs.
public struct RateLimiter<Key: Hashable>: Sendable where Key: Sendable {
    public let interval: Duration
    private var windows: [Key: (start: ContinuousClock.Instant, suppressed: Int)] = [:]

    public init(interval: Duration) {
        self.interval = interval
    }

    /// Returns how many events were suppressed since the last permitted one, or nil to suppress this one.
    public mutating func permit(_ key: Key, now: ContinuousClock.Instant = .now) -> Int? {
        if let window = windows[key], now - window.start < interval {
            windows[key]?.suppressed += 1
            return nil
        }
        let suppressed = windows[key]?.suppressed ?? 0
        windows[key] = (now, 0)
        return suppressed
    }
}
