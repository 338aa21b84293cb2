import AgentHeartbeatCore
import AgentHeartbeatRedis
import Logging

/// The mirror's one way through a Redis outage, for the subscriber and the writer alike: the
/// failure is logged when the outage starts (and counted as a lost connection), the recovery when
/// it ends, the reason is kept in `MirrorStatistics` meanwhile, and attempts are paced by `Backoff`.
struct MirrorOutage {
    enum Part {
        case subscriber
        case writer
    }

    let part: Part
    let statistics: MirrorStatistics
    let logger: Logger
    private var backoff = Backoff(maximum: HeartbeatMirror.maximumBackoff)
    /// What ended the connection, while the outage lasts.
    private var reason: String?

    init(_ part: Part, statistics: MirrorStatistics, logger: Logger) {
        self.part = part
        self.statistics = statistics
        self.logger = logger
    }

    /// Records a failed attempt; returns how long to wait before the next.
    mutating func failed(_ error: RedisError) -> Duration {
        report(error.description)
        if reason == nil {
            // Logged once per outage; `recovered` closes it.
            let message: Logger.Message =
                switch part {
                case .subscriber: "subscriber lost its subscriptions, reconnecting with backoff"
                case .writer: "writer cannot store heartbeats, retrying with backoff"
                }
            logger.error(message, metadata: ["error": "\(error)"])
            statistics.recordConnectionLoss()
            reason = error.description
        }
        return backoff.next()
    }

    /// Records a successful attempt: ends the outage, if there was one.
    mutating func recovered() {
        guard let lost = reason else { return }
        let message: Logger.Message =
            switch part {
            case .subscriber: "subscriber resubscribed to every channel"
            case .writer: "writer recovered"
            }
        logger.notice(message, metadata: ["redis.lost": "\(lost)"])
        report(nil)
        reason = nil
        backoff.reset()
    }

    private func report(_ failure: String?) {
        switch part {
        case .subscriber: statistics.subscriberFailed(failure)
        case .writer: statistics.writerFailed(failure)
        }
    }
}
