import AgentHeartbeatCore
import AgentHeartbeatRedis

/// A Redis connection living on its own thread, for request/reply work (checks, publishing).
/// It connects on first use, again after a broken connection, and again when the master changed.
public final class RedisClient: @unchecked Sendable {  // `connection` is only touched in jobs on `thread`.
    private var connection: RedisConnection?
    private let thread: JobThread
    public let connector: RedisConnector

    public init(_ connector: RedisConnector, name: String = "redis-client") {
        self.connector = connector
        self.thread = JobThread(name: name)
    }

    /// A client of exactly this server (never routed to another cluster node).
    public convenience init(url: RedisURL, name: String = "redis-client", connectTimeout: Duration = .seconds(2)) {
        self.init(.direct(url, connectTimeout: connectTimeout), name: name)
    }

    /// Runs `body` with the connection on the client's thread. A broken connection is dropped,
    /// and so is one that `body` left with replies unread (an error reply cut its pipeline short):
    /// the next call reconnects, and no reply is ever read as another command's.
    public func withConnection<T: Sendable, Failure: Error>(
        _ body: @escaping @Sendable (RedisConnection) throws(Failure) -> T
    ) async throws -> T {
        try await thread.run { [self] () throws -> T in
            do {
                if let stale = connection, !connector.isCurrent(stale) { connection = nil }
                if connection == nil { connection = try connector.connect() }
                let result = try body(connection!)
                if connection!.outstandingReplies != 0 { connection = nil }
                return result
            } catch {
                let redisError = error as? RedisError
                if redisError?.breaksConnection == true || connection?.outstandingReplies != 0 { connection = nil }
                // Tell every holder: the master, or the cluster slot's owner, is elsewhere now.
                if redisError?.code == .notMaster { connector.masterChanged() }
                throw error
            }
        }
    }

    /// Closes the connection and ends the thread.
    public func close() async {
        _ = try? await thread.run { [self] in connection = nil }
        thread.stop()
    }
}
