/// A master watched by Redis Sentinel:
/// `redis-sentinel://[[user]:password@]host1[:port1][,host2[:port2]…]/MASTER_NAME[/db]`.
/// The credentials are the data nodes'; sentinels that require a password get `sentinelPassword`
/// (`LUKA_REDIS_SENTINEL_PASSWORD`). A sentinel's port defaults to 26379.
public struct SentinelURL: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { RedisURLParts.authority(host, port) }
    }

    public var sentinels: [Address]
    public var masterName: String
    public var username: String?
    public var password: String?
    public var database: Int
    public var sentinelPassword: String?

    public init(
        sentinels: [Address],
        masterName: String,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        sentinelPassword: String? = nil
    ) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.username = username
        self.password = password
        self.database = database
        self.sentinelPassword = sentinelPassword
    }

    public init(parsing text: String, sentinelPassword: String? = nil) throws(RedisURL.ParseError) {
        let form = "redis-sentinel://[[user]:password@]host1[:port1][,host2[:port2]…]/MASTER_NAME[/db]"
        let parts = try RedisURLParts(text, scheme: "redis-sentinel", form: form)
        guard let name = parts.path.first, !name.isEmpty else {
            throw RedisURL.ParseError(message: "the master's name is missing: expected \(form)")
        }
        guard parts.path.count <= 2 else {
            throw RedisURL.ParseError(message: "expected /MASTER_NAME[/db] after the sentinels, found more")
        }
        self.init(
            sentinels: parts.hosts.map { Address(host: $0.host, port: $0.port ?? 26379) },
            masterName: String(name),
            username: parts.username,
            password: parts.password,
            database: try parts.database(at: 1),
            sentinelPassword: sentinelPassword
        )
    }

    /// The data node at `address`, with the URL's credentials and database.
    public func node(_ address: Address) -> RedisURL {
        RedisURL(host: address.host, port: address.port, username: username, password: password, database: database)
    }

    /// A sentinel, with the sentinels' password.
    public func sentinel(_ address: Address) -> RedisURL {
        RedisURL(host: address.host, port: address.port, password: sentinelPassword)
    }

    /// Safe for logs and errors: no password.
    public var description: String {
        let credentials = RedisURLParts.redactedCredentials(username, password)
        return "redis-sentinel://\(credentials)\(sentinels.map(\.description).joined(separator: ","))"
            + "/\(masterName)/\(database)"
    }

    public var debugDescription: String { description }
}

/// Where the sidecar finds its Redis master, as `LUKA_REDIS_URL` says: one server (which may be a
/// node of a Redis Cluster), the seed nodes of a Redis Cluster, or the master that Sentinel names.
public enum RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    case server(RedisURL)
    /// `redis://[[user]:password@]host1[:port1],host2[:port2]…`: any reachable one leads to the rest.
    case cluster([RedisURL])
    case sentinel(SentinelURL)

    public init(parsing text: String, sentinelPassword: String? = nil) throws(RedisURL.ParseError) {
        if text.hasPrefix("redis-sentinel://") {
            self = .sentinel(try SentinelURL(parsing: text, sentinelPassword: sentinelPassword))
            return
        }
        let parts = try RedisURLParts(text, scheme: "redis", form: "redis://[[user]:password@]host[:port][/db]")
        guard parts.hosts.count > 1 else {
            self = .server(try RedisURL(parsing: text))
            return
        }
        guard parts.path.isEmpty || parts.path == ["0"] else {
            throw RedisURL.ParseError(
                message: "a Redis Cluster has database 0 only; several hosts name a cluster's nodes"
            )
        }
        self = .cluster(
            parts.hosts.map {
                RedisURL(host: $0.host, port: $0.port ?? 6379, username: parts.username, password: parts.password)
            }
        )
    }

    public var description: String {
        switch self {
        case .server(let url): url.description
        case .cluster(let urls):
            "redis://\(RedisURLParts.redactedCredentials(urls[0].username, urls[0].password))"
                + urls.map { RedisURLParts.authority($0.host, $0.port) }.joined(separator: ",") + "/0"
        case .sentinel(let url): url.description
        }
    }
}

/// A `+switch-master` event: `<master name> <old ip> <old port> <new ip> <new port>`.
public struct SentinelSwitch: Sendable, Equatable {
    public var masterName: String
    public var old: SentinelURL.Address
    public var new: SentinelURL.Address

    public init(masterName: String, old: SentinelURL.Address, new: SentinelURL.Address) {
        self.masterName = masterName
        self.old = old
        self.new = new
    }

    public init?(payload: some Collection<UInt8>) {
        let words = String(decoding: payload, as: UTF8.self).split(separator: " ")
        guard words.count == 5, let oldPort = Int(words[2]), let newPort = Int(words[4]) else { return nil }
        self.init(
            masterName: String(words[0]),
            old: .init(host: String(words[1]), port: oldPort),
            new: .init(host: String(words[3]), port: newPort)
        )
    }
}
