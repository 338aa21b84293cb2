import AgentHeartbeatRedis

/// Notices that the server of a subscribed connection went silent (it froze, or was cut off): a
/// subscriber only waits, and nothing else would tell. After `interval` without a byte it sends
/// PING; after twice that, it gives the connection up.
struct SilenceProbe {
    static let interval = Duration.seconds(5)
    /// Who is asked, for the error: "Redis", "the sentinel".
    let server: String
    private var heard = ContinuousClock.now
    private var pinged = false

    init(_ server: String) { self.server = server }

    /// Bytes arrived.
    mutating func heardFrom() { (heard, pinged) = (.now, false) }

    /// Between two waits: PINGs, or throws, as the silence grows.
    mutating func check(_ connection: RedisConnection) throws(RedisError) {
        let silence = ContinuousClock.now - heard
        if silence > Self.interval * 2 {
            throw RedisError(.connectionLost, "\(server) did not answer PING for \(Self.interval)")
        }
        if silence > Self.interval, !pinged {
            try connection.append(.ping)
            try connection.flush()
            pinged = true
        }
    }
}
