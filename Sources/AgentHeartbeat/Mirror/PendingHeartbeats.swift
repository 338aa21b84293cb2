import Foundation

/// Heartbeats received but not yet written, at most one per agent: a newer heartbeat replaces
/// an unwritten older one, since the key only keeps the latest. Memory stays bounded by the
/// number of agents however fast they publish, and a burst costs one write per agent per batch.
///
/// It also tells since when heartbeats wait to be stored (`unstoredSince`): while one does, what
/// Redis holds of its agent is older than what this replica knows, and a check must not read that
/// as silence.
final class PendingHeartbeats: @unchecked Sendable {  // All state is guarded by `condition`.
    struct Heartbeat: Sendable {
        /// The subscriber's slot for the agent: a cheap key.
        var slot: Int
        var agentID: String
        /// What the key stores after the time (`HeartbeatRecord.storedFields`).
        var fields: [UInt8]
        /// When the subscriber read it off the socket: the record's time, on the Redis clock.
        var arrived: ContinuousClock.Instant
    }

    private let condition = NSCondition()
    private var latest: [Int: Heartbeat] = [:]
    private var closed = false
    /// The earliest arrival in `latest`, or earlier: it is only moved on when `latest` empties.
    private var oldest: ContinuousClock.Instant?
    /// The earliest arrival in the batch being written, until the writer is `done` with it.
    private var taken: ContinuousClock.Instant?

    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    /// Adds heartbeats in arrival order: a later one for the same agent replaces an earlier one.
    func add(_ heartbeats: [Heartbeat]) {
        guard !heartbeats.isEmpty else { return }
        condition.lock()
        for heartbeat in heartbeats { latest[heartbeat.slot] = heartbeat }
        oldest = min(oldest ?? heartbeats[0].arrived, heartbeats[0].arrived)
        condition.signal()
        condition.unlock()
    }

    /// Entries whose room is kept when the table empties.
    static let keptCapacity = 4096

    /// Waits for heartbeats and takes up to `limit` of them. Returns [] once closed and drained.
    func take(limit: Int) -> [Heartbeat] {
        condition.lock()
        defer { condition.unlock() }
        while latest.isEmpty && !closed { condition.wait() }
        taken = oldest
        guard latest.count > limit else {
            oldest = nil
            // A burst from every agent grows the table to all of them (7 MB at 100,000); it is
            // not kept for the next one.
            defer { latest.removeAll(keepingCapacity: latest.capacity <= Self.keptCapacity) }
            return Array(latest.values)
        }
        let batch = Array(latest.values.prefix(limit))
        for heartbeat in batch { latest[heartbeat.slot] = nil }
        return batch
    }

    /// Puts back heartbeats whose write failed, unless a newer one for that agent arrived meanwhile.
    func putBack(_ batch: [Heartbeat]) {
        condition.lock()
        for heartbeat in batch where latest[heartbeat.slot] == nil {
            latest[heartbeat.slot] = heartbeat
        }
        if let taken { oldest = min(oldest ?? taken, taken) }
        condition.signal()
        condition.unlock()
    }

    /// The writer is done with the batch it took: stored, or put back.
    func done() {
        condition.lock()
        taken = nil
        condition.unlock()
    }

    /// When the earliest heartbeat received and not yet stored arrived (nil when none waits).
    var unstoredSince: ContinuousClock.Instant? {
        condition.lock()
        defer { condition.unlock() }
        guard let taken else { return oldest }
        return min(oldest ?? taken, taken)
    }

    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return latest.count
    }

    /// No more heartbeats will be added; `take` drains what is left, then returns [].
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Sleeps up to `duration`, waking early when closed, or when `wake` (asked every 50 ms) says
    /// so. Returns whether it is closed.
    func sleep(_ duration: Duration, unless wake: () -> Bool = { false }) -> Bool {
        let end = Date().addingTimeInterval(Double(duration.wholeMilliseconds) / 1000)
        while true {
            condition.lock()
            let deadline = min(end, Date().addingTimeInterval(0.05))
            while !closed && condition.wait(until: deadline) {}
            let isClosed = closed
            condition.unlock()
            if isClosed || Date() >= end || wake() { return isClosed }
        }
    }
}
