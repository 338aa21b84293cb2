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
    }

    let received = Atomic<Int>(0)
    let malformed = Atomic<Int>(0)
    let written = Atomic<Int>(0)
    let connectionLosses = Atomic<Int>(0)
    let subscribedChannels = Atomic<Int>(0)

    public init() {}

    public var snapshot: Snapshot {
        Snapshot(
            received: received.load(ordering: .relaxed), malformed: malformed.load(ordering: .relaxed),
            written: written.load(ordering: .relaxed), connectionLosses: connectionLosses.load(ordering: .relaxed),
            subscribedChannels: subscribedChannels.load(ordering: .relaxed))
    }
}
