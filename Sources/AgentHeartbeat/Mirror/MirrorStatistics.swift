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

        /// Why the subscriber is not subscribed to every channel, while it tries again.
        public var subscriberFailure: String?
        /// Why the writer cannot store heartbeats, while it tries again.
        public var writerFailure: String?

        /// Subscribed to every configured channel: what /readyz reports.
        public var isSubscribed: Bool { subscribedChannels == expectedChannels }

        /// Why heartbeats may be missing from Redis right now, so ages read there may be too old:
        /// no offline or recovery notification is derived from them meanwhile.
        public var degradedReason: String? {
            if let writerFailure { return "cannot store heartbeats: \(writerFailure)" }
            if let subscriberFailure { return "not receiving every heartbeat: \(subscriberFailure)" }
            return nil
        }
    }

    let received = Atomic<Int>(0)
    let malformed = Atomic<Int>(0)
    let written = Atomic<Int>(0)
    let connectionLosses = Atomic<Int>(0)
    let subscribedChannels = Atomic<Int>(0)
    let expectedChannels = Atomic<Int>(-1)
    private let failures = Mutex<(subscriber: String?, writer: String?)>((nil, nil))

    private let reconnects = Counter(label: "agent_heartbeat_redis_reconnects_total")

    public init() {}

    /// A connection to Redis was lost (it will be re-established).
    func recordConnectionLoss() {
        connectionLosses.add(1, ordering: .relaxed)
        reconnects.increment()
    }

    var isSubscribed: Bool { subscribedChannels.load(ordering: .relaxed) == expectedChannels.load(ordering: .relaxed) }

    func subscriberFailed(_ reason: String?) { failures.withLock { $0.subscriber = reason } }

    func writerFailed(_ reason: String?) { failures.withLock { $0.writer = reason } }

    public var snapshot: Snapshot {
        let failures = failures.withLock { $0 }
        return Snapshot(
            received: received.load(ordering: .relaxed), malformed: malformed.load(ordering: .relaxed),
            written: written.load(ordering: .relaxed), connectionLosses: connectionLosses.load(ordering: .relaxed),
            subscribedChannels: subscribedChannels.load(ordering: .relaxed),
            expectedChannels: expectedChannels.load(ordering: .relaxed),
            subscriberFailure: failures.subscriber, writerFailure: failures.writer)
    }
}
