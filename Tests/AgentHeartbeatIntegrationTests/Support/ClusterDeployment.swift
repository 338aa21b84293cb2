import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Testing

/// A Redis Cluster of three masters and three replicas made with `redis-cli --cluster create`,
/// every node a real process on loopback. A node is judged failed after 1 s.
final class ClusterDeployment: @unchecked Sendable {
    let nodes: [RedisServer]
    private let folder: URL

    private init(nodes: [RedisServer], folder: URL) {
        self.nodes = nodes
        self.folder = folder
    }

    static func start() async throws -> ClusterDeployment {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agent-heartbeat-cluster-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var nodes: [RedisServer] = []
        for index in 0..<6 {
            nodes.append(
                try await RedisServer.start([
                    "--cluster-enabled", "yes", "--cluster-node-timeout", "1000",
                    "--cluster-config-file", folder.appendingPathComponent("nodes-\(index).conf").path,
                    "--dir", folder.path,
                    // The bus port defaults to port + 10000, past 65535 for most free ports.
                    "--cluster-port", "\(try freeLoopbackPort())",
                ])
            )
        }
        let deployment = ClusterDeployment(nodes: nodes, folder: folder)
        let addresses = nodes.map { "127.0.0.1:\($0.port)" }
        try await JobThread.run(named: "redis-cli") {
            let process = Process()
            process.executableURL = try findExecutable("redis-cli")
            process.arguments =
                ["--cluster", "create"] + addresses + ["--cluster-replicas", "1", "--cluster-yes"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let status = waitForExit(process)
            guard status == 0 else {
                throw TestSetupError("redis-cli --cluster create exited with \(status.map(String.init) ?? "nothing")")
            }
        }
        for node in nodes {
            try await node.withClient { client in
                // A replica that never synced refuses to fail over (cluster-replica-validity-factor).
                try await eventually("node \(node.port) sees the cluster ok, every replica attached and in sync") {
                    let info = try await client.send("CLUSTER", "INFO").text ?? ""
                    let slots = try await client.send("CLUSTER", "SLOTS").array ?? []
                    let replication = try await client.send("INFO", "replication").text ?? ""
                    return info.contains("cluster_state:ok") && slots.count == 3
                        && slots.allSatisfy { ($0.array?.count ?? 0) == 4 }
                        && (!replication.contains("role:slave") || replication.contains("master_link_status:up"))
                }
            }
        }
        return deployment
    }

    /// The three masters as created (a failover changes who is master).
    var masters: [RedisServer] { Array(nodes.prefix(3)) }

    func port(of client: RedisClient) -> Int {
        if case .server(let url) = client.connector.endpoint { return url.port }
        return 0
    }

    /// `redis://` with two seed nodes.
    var url: String { "redis://127.0.0.1:\(nodes[0].port),127.0.0.1:\(nodes[1].port)" }

    /// A client that talks to the node owning `configuration`'s keys.
    func client(_ configuration: MonitorConfiguration, name: String = "test-cluster-client") throws -> RedisClient {
        RedisClient(RedisConnector(try RedisEndpoint(parsing: url), routingKey: configuration.keyTag), name: name)
    }

    /// The master that serves `key`'s slot now, as the first node that answers says.
    func master(of key: String) async throws -> RedisServer? {
        for node in nodes {
            guard
                let (slot, entries) = try? await node.withClient({ client in
                    (
                        try await client.send("CLUSTER", "KEYSLOT", key).integer,
                        try await client.send("CLUSTER", "SLOTS")
                    )
                }), let slot
            else { continue }  // a dead node
            for entry in entries.array ?? [] {
                guard let parts = entry.array, let first = parts[0].integer, let last = parts[1].integer,
                    (first...last).contains(slot), let port = parts[2].array?[1].integer
                else { continue }
                return nodes.first { $0.port == Int(port) }
            }
        }
        return nil
    }

    func stop() async {
        for node in nodes { await node.stop() }
        try? FileManager.default.removeItem(at: folder)
    }
}

/// A Redis Cluster of the test's own, stopped afterwards.
func withClusterDeployment<Result>(_ body: (ClusterDeployment) async throws -> Result) async throws -> Result {
    try await withCleanup(try await ClusterDeployment.start(), cleanUp: { await $0.stop() }, body)
}
