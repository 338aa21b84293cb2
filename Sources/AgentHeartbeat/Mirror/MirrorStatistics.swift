import Metrics
import Synchronization

/// Counters of the mirror, written by its threads and readable from anywhere.
public final class MirrorStatistics: Sendable {
    public struct Snapshot: Sendable, Equatable {
        /// Heartbeats received on the subscribed channels.
        public var received: Int
        /// Heartbeats whose payload could not be read (they still count as heartbeats).
        public var malformed: Int
        /// Keys written; fewer than received when a burst was coalesced.
        public var written: Int
        /// Connections to Redis lost (subscriber or writer).
        public var connectionLosses: Int
        /// Channels confirmed subscribed on the live connection.
        public var subscribedChannels: Int
        /// Channels the configuration asks for.
        public var expectedChannels: Int

        /// Subscribed to every configured channel: what /readyz reports.
        public var isSubscribed: Bool { subscribedChannels == expectedChannels }
    }

    let received = Atomic<Int>(0)
    let malformed = Atomic<Int>(0)
    let written = Atomic<Int>(0)
    let connectionLosses = Atomic<Int>(0)
    let subscribedChannels = Atomic<Int>(0)
    let expectedChannels = Atomic<Int>(-1)

    private let reconnects = Counter(label: "agent_heartbeat_redis_reconnects_total")

    public init() {}

    /// A connection to Redis was lost (it will be re-established).
    func recordConnectionLoss() {
        connectionLosses.add(1, ordering: .relaxed)
        reconnects.increment()
    }

    public var snapshot: Snapshot {
        Snapshot(
            received: received.load(ordering: .relaxed), malformed: malformed.load(ordering: .relaxed),
            written: written.load(ordering: .relaxed), connectionLosses: connectionLosses.load(ordering: .relaxed),
            subscribedChannels: subscribedChannels.load(ordering: .relaxed),
            expectedChannels: expectedChannels.load(ordering: .relaxed))
    }
}
