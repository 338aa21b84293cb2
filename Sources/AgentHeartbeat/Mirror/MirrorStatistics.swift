import AgentHeartbeatCore
import Metrics
import NIOConcurrencyHelpers
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

        /// A backlog this old is no hiccup: the writer is starved or Redis barely answers.
        static let backlogLimit = Duration.seconds(10)

        /// Why heartbeats may be missing from Redis right now, so ages read there may be too old:
        /// no offline or recovery notification is derived from them meanwhile.
        public var degradedReason: String? {
            if let writerFailure { return "cannot store heartbeats: \(writerFailure)" }
            if let unstoredFor, unstoredFor >= Self.backlogLimit {
                return "heartbeats received \(unstoredFor.wholeSeconds) s ago are not stored yet"
            }
            if let subscriberFailure { return "not receiving every heartbeat: \(subscriberFailure)" }
            if !isListening { return "not receiving every heartbeat: not subscribed yet" }
            return nil
        }

        /// Every channel was confirmed on the live connection, which has not been lost since.
        public var isListening: Bool
        /// How long the earliest heartbeat received and not yet stored has waited (nil: none waits).
        public var unstoredFor: Duration?
    }

    let received = Atomic<Int>(0)
    let malformed = Atomic<Int>(0)
    let written = Atomic<Int>(0)
    let connectionLosses = Atomic<Int>(0)
    let subscribedChannels = Atomic<Int>(0)
    let expectedChannels = Atomic<Int>(-1)
    /// Agent slots the subscriber holds: one per agent and channel ever followed, not per reconnect.
    let slots = Atomic<Int>(0)
    private let failures = NIOLockedValueBox<(subscriber: String?, writer: String?)>((nil, nil))
    private let listening = NIOLockedValueBox(Listening())
    /// The heartbeats of the running mirror, received and not yet stored.
    private let pending = NIOLockedValueBox<PendingHeartbeats?>(nil)
    /// Since when bytes wait unread in the subscriber's socket, while some do.
    private let unreadSince = NIOLockedValueBox<ContinuousClock.Instant?>(nil)

    /// Gaps in listening on the monotonic clock; a start of nil is "before this process subscribed".
    struct Listening {
        var inGap = true
        var gapStart: ContinuousClock.Instant?
        var closed: [(start: ContinuousClock.Instant?, end: ContinuousClock.Instant)] = []
        /// Gaps older than this cannot matter to any sensible threshold; at most `limit` are kept.
        static let retention = Duration.seconds(7 * 86_400)
        static let limit = 10_000
    }

    private let reconnects = Counter(label: SidecarMetrics.Name.redisReconnects)

    public init() {}

    /// A connection to Redis was lost (it will be re-established).
    func recordConnectionLoss() {
        connectionLosses.add(1, ordering: .relaxed)
        reconnects.increment()
    }

    var isSubscribed: Bool { subscribedChannels.load(ordering: .relaxed) == expectedChannels.load(ordering: .relaxed) }

    /// Every channel is confirmed: heartbeats arrive from now on.
    func startedListening() {
        listening.withLockedValue { state in
            guard state.inGap else { return }
            let now = ContinuousClock.now
            state.closed.append((state.gapStart, now))
            state.closed.removeAll { now - $0.end > Listening.retention }
            if state.closed.count > Listening.limit { state.closed.removeFirst(state.closed.count - Listening.limit) }
            state.inGap = false
        }
    }

    /// The subscription is lost: heartbeats published from now on are not received.
    func stoppedListening() {
        listening.withLockedValue { state in
            guard !state.inGap else { return }
            state.inGap = true
            state.gapStart = .now
        }
    }

    func tracking(_ heartbeats: PendingHeartbeats) { pending.withLockedValue { $0 = heartbeats } }

    func unread(since instant: ContinuousClock.Instant?) { unreadSince.withLockedValue { $0 = instant } }

    /// Since when the earliest heartbeat that reached this replica and is not stored yet waits, in the
    /// subscriber's socket or in `PendingHeartbeats` (nil when none does).
    public var unstoredSince: ContinuousClock.Instant? {
        let unread = unreadSince.withLockedValue { $0 }
        guard let received = pending.withLockedValue({ $0 })?.unstoredSince else { return unread }
        return min(unread ?? received, received)
    }

    /// The gaps on the Redis clock, through `serverMilliseconds`. Heartbeats waiting since
    /// `unstoredSince` to be stored make an open gap from then: Redis does not have them yet, so
    /// silence read there since that time proves nothing either.
    public func listeningGaps(
        unstoredSince: ContinuousClock.Instant? = nil,
        _ serverMilliseconds: (ContinuousClock.Instant) -> Int64
    ) -> ListeningGaps {
        var gaps = listening.withLockedValue { state in
            ListeningGaps(
                closed: state.closed.map { ($0.start.map(serverMilliseconds) ?? .min)..<serverMilliseconds($0.end) },
                open: state.inGap ? (state.gapStart.map(serverMilliseconds) ?? .min) : nil
            )
        }
        if let unstoredSince {
            let start = serverMilliseconds(unstoredSince)
            gaps.open = min(gaps.open ?? start, start)
        }
        return gaps
    }

    func subscriberFailed(_ reason: String?) { failures.withLockedValue { $0.subscriber = reason } }

    func writerFailed(_ reason: String?) { failures.withLockedValue { $0.writer = reason } }

    public var snapshot: Snapshot {
        let failures = failures.withLockedValue { $0 }
        return Snapshot(
            received: received.load(ordering: .relaxed),
            malformed: malformed.load(ordering: .relaxed),
            written: written.load(ordering: .relaxed),
            connectionLosses: connectionLosses.load(ordering: .relaxed),
            subscribedChannels: subscribedChannels.load(ordering: .relaxed),
            expectedChannels: expectedChannels.load(ordering: .relaxed),
            subscriberFailure: failures.subscriber,
            writerFailure: failures.writer,
            isListening: listening.withLockedValue { !$0.inGap },
            unstoredFor: unstoredSince.map { .now - $0 }
        )
    }
}
