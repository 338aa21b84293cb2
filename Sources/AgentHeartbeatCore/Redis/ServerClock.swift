/// The Redis server's clock as seen from this process: one TIME reply pinned to the midpoint of
/// its round trip on the monotonic clock. It turns the instant a heartbeat arrived into Redis
/// time, so a heartbeat written late (Redis out of memory, restarting) keeps its arrival time.
/// The error is at most half the round trip; resynchronise now and then for drift.
public struct ServerClock: Sendable, Equatable {
    /// The server's milliseconds at `instant`.
    public var serverMilliseconds: Int64
    public var instant: ContinuousClock.Instant
    /// The round trip of the TIME call it came from: the sample's uncertainty (twice over).
    public var roundTrip: Duration

    /// From TIME's reply and the monotonic instants just before sending and just after reading it.
    public init(serverMilliseconds: Int64, sent: ContinuousClock.Instant, received: ContinuousClock.Instant) {
        self.serverMilliseconds = serverMilliseconds
        roundTrip = received - sent
        instant = sent + roundTrip / 2
    }

    /// `instant` in milliseconds since 1970 on the server's clock.
    public func milliseconds(at other: ContinuousClock.Instant) -> Int64 {
        serverMilliseconds + (other - instant).wholeMilliseconds
    }
}
