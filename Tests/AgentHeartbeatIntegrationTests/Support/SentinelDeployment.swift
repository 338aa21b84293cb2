import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Testing

/// A master, its replica and three sentinels (quorum 2), every one a real process on loopback.
/// A master is judged down after 1 s, so a failover takes a few seconds.
final class SentinelDeployment: @unchecked Sendable {
    static let masterName = "heartbeat-master"
    let servers: [RedisServer]
    let sentinels: [RedisServer]

    private init(servers: [RedisServer], sentinels: [RedisServer]) {
        self.servers = servers
        self.sentinels = sentinels
    }

    /// Starts everything and waits until each sentinel knows the replica and the other sentinels,
    /// so a failover can happen.
    static func start() async throws -> SentinelDeployment {
        let master = try await RedisServer.start()
        let replica = try await RedisServer.start(["--replicaof", "127.0.0.1", "\(master.port)"])
        var sentinels: [RedisServer] = []
        for _ in 0..<3 {
            sentinels.append(
                try await RedisServer.startSentinel { port in
                    """
                    port \(port)
                    bind 127.0.0.1
                    sentinel monitor \(masterName) 127.0.0.1 \(master.port) 2
                    sentinel down-after-milliseconds \(masterName) 1000
                    sentinel failover-timeout \(masterName) 4000
                    sentinel parallel-syncs \(masterName) 1

                    """
                }
            )
        }
        let deployment = SentinelDeployment(servers: [master, replica], sentinels: sentinels)
        for sentinel in sentinels {
            try await sentinel.withClient { client in
                try await eventually("sentinel \(sentinel.port) knows the replica and the other sentinels") {
                    let replicas = try await client.send("SENTINEL", "replicas", masterName).array ?? []
                    let others = try await client.send("SENTINEL", "sentinels", masterName).array ?? []
                    return replicas.count == 1 && others.count == 2
                }
            }
        }
        try await replica.withClient { client in
            try await eventually("the replica is in sync") {
                let info = try await client.send("INFO", "replication").text ?? ""
                return info.contains("master_link_status:up")
            }
        }
        return deployment
    }

    /// `redis-sentinel://` with every sentinel.
    var url: String {
        "redis-sentinel://" + sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") + "/\(Self.masterName)"
    }

    var endpoint: RedisEndpoint { get throws { try RedisEndpoint(parsing: url) } }

    /// A client that follows the master as Sentinel names it.
    func client(name: String = "test-sentinel-client") throws -> RedisClient {
        RedisClient(RedisConnector(try endpoint), name: name)
    }

    /// The server Sentinel names as master now, asked of the first sentinel that answers.
    func master() async throws -> RedisServer? {
        for sentinel in sentinels {
            let reply = try? await sentinel.withClient { client in
                try await client.send("SENTINEL", "get-master-addr-by-name", Self.masterName)
            }
            if let port = reply?.array?.last?.text.flatMap({ Int($0) }) {
                return servers.first { $0.port == port }
            }
        }
        return nil
    }

    func stop() async {
        for server in sentinels + servers { await server.stop() }
    }
}

/// A Sentinel deployment of the test's own, stopped afterwards.
func withSentinelDeployment<Result>(_ body: (SentinelDeployment) async throws -> Result) async throws -> Result {
    try await withCleanup(try await SentinelDeployment.start(), cleanUp: { await $0.stop() }, body)
}
