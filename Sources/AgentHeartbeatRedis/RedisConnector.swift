import AgentHeartbeatCore
import Synchronization

/// Connects to the Redis master: the configured server, or the master that Sentinel names.
///
/// Sentinel client protocol: the sentinels are asked in turn, each with a short timeout, and the
/// first that names the master moves to the front of the list; the named server must say it is the
/// master (`ROLE`), else the sentinels are asked again on the next attempt. Every connection
/// resolves afresh, so a reconnect follows a failover. `masterChanged()` (a `+switch-master`, a
/// READONLY reply) makes every connection made before it stale: its holder drops it.
public final class RedisConnector: Sendable, CustomStringConvertible {
    public let endpoint: RedisEndpoint
    /// Sentinels in the order to ask them: the last one that answered first.
    private let sentinelOrder: Mutex<[SentinelURL.Address]>
    private let masterGeneration = Atomic<Int>(0)
    let connectTimeout: Duration
    let commandTimeout: Duration
    /// Bounds on one sentinel's answer: a dead sentinel must not hold the others up.
    static let sentinelTimeout = Duration.milliseconds(500)

    public init(
        _ endpoint: RedisEndpoint,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5)
    ) {
        self.endpoint = endpoint
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        if case .sentinel(let url) = endpoint {
            sentinelOrder = Mutex(url.sentinels)
        } else {
            sentinelOrder = Mutex([])
        }
    }

    public convenience init(_ url: RedisURL, connectTimeout: Duration = .seconds(2)) {
        self.init(.server(url), connectTimeout: connectTimeout)
    }

    public var description: String { endpoint.description }

    /// Grows each time the master changed; connections made before are stale.
    public var generation: Int { masterGeneration.load(ordering: .acquiring) }

    /// Says the master changed: every connection made before this call is stale.
    public func masterChanged() { masterGeneration.add(1, ordering: .releasing) }

    /// Whether `connection` still goes to the master as last known.
    public func isCurrent(_ connection: RedisConnection) -> Bool { connection.masterGeneration == generation }

    /// A new connection to the master (blocking: call it on a `JobThread`).
    public func connect() throws(RedisError) -> RedisConnection {
        // Read first: a switch announced while connecting leaves this connection stale, so it is redone.
        let generation = self.generation
        let connection: RedisConnection
        switch endpoint {
        case .server(let url):
            connection = try RedisConnection(url: url, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
        case .sentinel(let url):
            let address = try masterAddress(url)
            connection = try RedisConnection(
                url: url.node(address),
                connectTimeout: connectTimeout,
                commandTimeout: commandTimeout
            )
            let role = try connection.call(.role)
            guard role.array?.first?.text == "master" else {
                throw RedisError(
                    .connectionFailed,
                    "Sentinel named \(address) as master \"\(url.masterName)\", but it is not the master"
                        + " (ROLE: \(role.array?.first?.text ?? role.shape)); asking the sentinels again"
                )
            }
        }
        connection.masterGeneration = generation
        return connection
    }

    /// Asks the sentinels in turn for the master's address.
    public func masterAddress(_ url: SentinelURL) throws(RedisError) -> SentinelURL.Address {
        try askSentinels(url).address
    }

    /// The first sentinel, in turn, that names the master: its connection and the master's address.
    /// That sentinel is asked first from now on.
    public func askSentinels(
        _ url: SentinelURL
    ) throws(RedisError) -> (connection: RedisConnection, address: SentinelURL.Address) {
        var failures: [String] = []
        for sentinel in sentinelOrder.withLock({ $0 }) {
            do throws(RedisError) {
                let connection = try RedisConnection(
                    url: url.sentinel(sentinel),
                    connectTimeout: Self.sentinelTimeout,
                    commandTimeout: Self.sentinelTimeout * 2
                )
                let address = try Self.masterAddress(of: url.masterName, on: connection)
                sentinelOrder.withLock { order in
                    if let index = order.firstIndex(of: sentinel), index != 0 {
                        order.remove(at: index)
                        order.insert(sentinel, at: 0)
                    }
                }
                return (connection, address)
            } catch {
                failures.append("sentinel \(sentinel): \(error)")
            }
        }
        throw RedisError(
            .connectionFailed,
            "no sentinel named the master \"\(url.masterName)\": \(failures.joined(separator: "; "))"
        )
    }

    private static func masterAddress(
        of name: String,
        on sentinel: RedisConnection
    ) throws(RedisError) -> SentinelURL.Address {
        let reply = try sentinel.call(.sentinelMasterAddress(name))
        guard let address = SentinelURL.Address(reply) else {
            throw RedisError(
                .unexpectedReply,
                reply == .null ? "does not know a master named \"\(name)\"" : "answered \(reply.shape) for the master"
            )
        }
        return address
    }
}

extension SentinelURL.Address {
    /// A `SENTINEL get-master-addr-by-name` reply, or a `+switch-master` message's last two words.
    init?(_ reply: RedisReply) {
        guard let parts = reply.array, parts.count == 2, let host = parts[0].text, !host.isEmpty,
            let port = parts[1].text.flatMap({ Int($0) }), (1...65535).contains(port)
        else { return nil }
        self.init(host: host, port: port)
    }
}
