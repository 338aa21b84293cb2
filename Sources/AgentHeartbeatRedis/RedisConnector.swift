import AgentHeartbeatCore
import NIOConcurrencyHelpers
import Synchronization

/// Connects to the Redis master: the configured server, the node of a Redis Cluster that owns the
/// deployment's keys, or the master that Sentinel names.
///
/// Sentinel client protocol: the sentinels are asked in turn, each with a short timeout, and the
/// first that names the master moves to the front of the list; the named server must say it is the
/// master (`ROLE`), else the sentinels are asked again on the next attempt.
///
/// Cluster: every key of a deployment shares one hash tag (`routingKey`), so one node holds them
/// all. The first connection finds out whether the server is a cluster node (`INFO cluster`); the
/// owner of the tag's slot is learnt from `CLUSTER SLOTS` of any node that answers (the last that
/// answered first, then the configured seeds, then every master seen), on every connection.
///
/// `masterChanged()` (a `+switch-master`, a READONLY or MOVED reply) makes every connection made
/// before it stale: its holder drops it, and the next one resolves afresh.
public final class RedisConnector: Sendable, CustomStringConvertible {
    public let endpoint: RedisEndpoint
    /// The key whose slot decides which cluster node to use: the deployment's hash tag.
    public let routingKey: String
    /// Sentinels in the order to ask them: the last one that answered first.
    private let sentinelOrder: NIOLockedValueBox<[SentinelURL.Address]>
    private let cluster: NIOLockedValueBox<ClusterState>
    private let masterGeneration = Atomic<Int>(0)
    let connectTimeout: Duration
    let commandTimeout: Duration
    /// Bounds on one sentinel's answer: a dead sentinel must not hold the others up.
    static let sentinelTimeout = Duration.milliseconds(500)

    struct ClusterState {
        /// Unknown until the first connection answered `INFO cluster`.
        var enabled: Bool?
        /// Nodes to ask for the slot map: the last that answered first, then the configured ones,
        /// then every master seen.
        var nodes: [RedisURL]
    }

    public init(
        _ endpoint: RedisEndpoint,
        routingKey: String = MonitorConfiguration.keyTag("agents"),
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5)
    ) {
        self.endpoint = endpoint
        self.routingKey = routingKey
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        var sentinels: [SentinelURL.Address] = []
        var state = ClusterState(nodes: [])
        switch endpoint {
        case .server(let url): state.nodes = [url]
        case .cluster(let urls):
            state.enabled = true
            state.nodes = urls
        case .sentinel(let url):
            sentinels = url.sentinels
            state.enabled = false
        }
        sentinelOrder = NIOLockedValueBox(sentinels)
        cluster = NIOLockedValueBox(state)
    }

    /// A connector to exactly this server, never routed to another cluster node.
    public static func direct(_ url: RedisURL, connectTimeout: Duration = .seconds(2)) -> RedisConnector {
        let connector = RedisConnector(.server(url), connectTimeout: connectTimeout)
        connector.cluster.withLockedValue { $0.enabled = false }
        return connector
    }

    public var description: String { endpoint.description }

    /// Whether the server is a Redis Cluster node (known after the first connection).
    public var isCluster: Bool { cluster.withLockedValue { $0.enabled == true } }

    /// Grows each time the master changed; connections made before are stale.
    public var generation: Int { masterGeneration.load(ordering: .acquiring) }

    /// Says the master changed (a `+switch-master`; READONLY, MASTERDOWN or MOVED, see
    /// `RedisError.saysNotMaster`): every connection made before this call is stale.
    public func masterChanged() { masterGeneration.add(1, ordering: .releasing) }

    /// A connection to the node a redirection names (for ASK: one command there, after ASKING).
    public func connect(to redirect: ClusterRedirect) throws(RedisError) -> RedisConnection {
        guard let url = cluster.withLockedValue({ node(redirect, in: $0) }) else {
            throw RedisError(.connectionFailed, "redirected to a cluster node, but no node is known")
        }
        return try open(url)
    }

    /// The node a redirection names, with the credentials of the configured ones.
    private func node(_ redirect: ClusterRedirect, in state: ClusterState) -> RedisURL? {
        guard var url = state.nodes.first else { return nil }
        if !redirect.host.isEmpty { url.host = redirect.host }
        url.port = redirect.port
        return url
    }

    /// Whether `connection` still goes to the master as last known.
    public func isCurrent(_ connection: RedisConnection) -> Bool { connection.masterGeneration == generation }

    /// A new connection to the master (blocking: call it on a `JobThread`).
    public func connect() throws(RedisError) -> RedisConnection {
        // Read first: a switch announced while connecting leaves this connection stale, so it is redone.
        let generation = self.generation
        let connection: RedisConnection
        switch endpoint {
        case .server(let url) where cluster.withLockedValue({ $0.enabled == false }):
            connection = try open(url)
        case .server, .cluster:
            connection = try connectToSlotOwner()
        case .sentinel(let url):
            let address = try askSentinels(url).address
            connection = try open(url.node(address))
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

    private func open(_ url: RedisURL) throws(RedisError) -> RedisConnection {
        try RedisConnection(url: url, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
    }

    /// The node that owns `routingKey`'s slot; on a server that is no cluster node, that server.
    /// The slot map is read again on every connection (two commands): an owner that froze or died
    /// is never reused from memory.
    private func connectToSlotOwner() throws(RedisError) -> RedisConnection {
        let state = cluster.withLockedValue { $0 }
        var failures: [String] = []
        var only: RedisError?
        for node in state.nodes {
            do throws(RedisError) {
                // Among several nodes, short bounds: a frozen one holds the others up a second at most.
                let several = state.nodes.count > 1
                let connection = try RedisConnection(
                    url: node,
                    connectTimeout: several ? min(connectTimeout, Self.sentinelTimeout) : connectTimeout,
                    commandTimeout: several ? Self.sentinelTimeout * 2 : commandTimeout
                )
                if state.enabled == nil {
                    let info = try connection.call(RedisCommand("INFO", "cluster")).text ?? ""
                    guard info.contains("cluster_enabled:1") else {
                        cluster.withLockedValue { $0.enabled = false }
                        return try open(node)
                    }
                    cluster.withLockedValue { $0.enabled = true }
                }
                guard let slot = try connection.call(RedisCommand("CLUSTER", "KEYSLOT", routingKey)).integer else {
                    throw RedisError(.unexpectedReply, "CLUSTER KEYSLOT returned no number")
                }
                let map = try ClusterSlotMap(try connection.call(RedisCommand("CLUSTER", "SLOTS")), node: node)
                guard let owner = map.owner(of: Int(slot)) else {
                    throw RedisError(.unexpectedReply, "no node serves slot \(slot) (of \(routingKey)) yet")
                }
                cluster.withLockedValue { state in
                    // Ask this node first next time; learn every master.
                    state.nodes.removeAll { $0 == node }
                    state.nodes.insert(node, at: 0)
                    for master in map.masters where !state.nodes.contains(master) { state.nodes.append(master) }
                }
                return try open(owner)
            } catch {
                failures.append("\(node.host):\(node.port): \(error)")
                only = failures.count == 1 ? error : nil
            }
        }
        // One server that may not even be a cluster node: its own error says it best.
        if let only, state.nodes.count == 1 { throw only }
        throw RedisError(
            .connectionFailed,
            "no Redis Cluster node named the owner of \(routingKey): \(failures.joined(separator: "; "))"
        )
    }

    /// The first sentinel, in turn, that names the master: its connection and the master's address.
    /// That sentinel is asked first from now on.
    public func askSentinels(
        _ url: SentinelURL
    ) throws(RedisError) -> (connection: RedisConnection, address: SentinelURL.Address) {
        var failures: [String] = []
        for sentinel in sentinelOrder.withLockedValue({ $0 }) {
            do throws(RedisError) {
                let connection = try RedisConnection(
                    url: url.sentinel(sentinel),
                    connectTimeout: Self.sentinelTimeout,
                    commandTimeout: Self.sentinelTimeout * 2
                )
                let address = try Self.masterAddress(of: url.masterName, on: connection)
                sentinelOrder.withLockedValue { order in
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

/// `CLUSTER SLOTS`: which master serves which range of slots.
struct ClusterSlotMap {
    var ranges: [(slots: ClosedRange<Int>, master: RedisURL)] = []

    /// `node` is the node that answered: its credentials go to every node, and an empty host means it.
    init(_ reply: RedisReply, node: RedisURL) throws(RedisError) {
        guard let entries = reply.array else {
            throw RedisError(.unexpectedReply, "CLUSTER SLOTS returned \(reply.shape)")
        }
        for entry in entries {
            guard let parts = entry.array, parts.count >= 3, let first = parts[0].integer, let last = parts[1].integer,
                first <= last, let master = parts[2].array, master.count >= 2, let port = master[1].integer
            else { throw RedisError(.unexpectedReply, "CLUSTER SLOTS returned an entry of \(entry.shape)") }
            var url = node
            url.port = Int(port)
            if let host = master[0].text, !host.isEmpty, host != "?" { url.host = host }
            ranges.append((Int(first)...Int(last), url))
        }
    }

    func owner(of slot: Int) -> RedisURL? { ranges.first { $0.slots.contains(slot) }?.master }

    var masters: [RedisURL] {
        var seen: [RedisURL] = []
        for range in ranges where !seen.contains(range.master) { seen.append(range.master) }
        return seen
    }
}
