import AgentHeartbeatCore
import Foundation
import Hummingbird
import Logging
import Prometheus

/// The sidecar's HTTP endpoints: probes, Prometheus metrics, the status map and the dashboard.
public enum SidecarHTTPServer {
    /// Where to listen: `host:port` (`--http` / `AGENT_HEARTBEAT_HTTP`).
    public struct Address: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public static let `default` = Address(host: "127.0.0.1", port: 9464)

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public init?(_ text: String) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                (1...65535).contains(port)
            else {
                return nil
            }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { return nil }
            self.init(host: host, port: port)
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// What `/api/v1` needs beyond the status.
    public struct API: Sendable {
        var configurations: ConfigurationStore
        var client: RedisClient
        /// `AGENT_HEARTBEAT_API_TOKEN`; nil or empty: write endpoints answer 403.
        var token: String?

        public init(configurations: ConfigurationStore, client: RedisClient, token: String?) {
            self.configurations = configurations
            self.client = client
            self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    /// The Hummingbird application: one more service in the sidecar's group.
    public static func application(
        address: Address,
        status: SidecarStatus,
        mirror: HeartbeatMirror,
        registry: PrometheusCollectorRegistry,
        api: API? = nil,
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        if let api {
            APIRoutes(
                status: status,
                configurations: api.configurations,
                client: api.client,
                token: api.token,
                logger: logger
            ).add(to: router)
        }
        let mapReader = JobThread(name: "map-reader")
        router.get("healthz") { _, _ in
            // Alive while the process serves requests; independent of Redis, so an outage does not
            // make Kubernetes restart every replica.
            text("ok\n")
        }
        router.get("readyz") { _, _ in
            let reason = notReadyReason(status: status.snapshot, mirror: mirror.statistics.snapshot)
            return text(
                reason.map { "not ready: \($0)\n" } ?? "ready\n",
                status: reason == nil ? .ok : .serviceUnavailable
            )
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        router.get("api/status") { _, _ in
            // Streamed from the file: at 100,000 agents it is tens of megabytes, and several readers
            // at once must not each hold a copy.
            guard let path = status.snapshot.mapPath else {
                return text("no check has completed yet\n", status: .serviceUnavailable)
            }
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: fileBody(path: path, readOn: mapReader)
            )
        }
        router.get("api/replica") { _, _ in
            let snapshot = status.snapshot
            let body: [String: JSONValue] = [
                "replica": .string(status.replicaName),
                "leader": snapshot.leader.map(JSONValue.string) ?? .null,
                "is_leader": .bool(snapshot.leaderToken == status.lockToken),
            ]
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: (try? JSONEncoder().encode(body)) ?? Data()))
            )
        }
        router.get("/") { _, _ in
            Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8",
                    .contentSecurityPolicy: "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
                ],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.dashboard_html))
            )
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "agent-heartbeat"),
            logger: logger
        )
    }

    /// Why this replica should not receive traffic, or nil when it is ready.
    static func notReadyReason(status: SidecarStatus.Snapshot, mirror: MirrorStatistics.Snapshot) -> String? {
        if mirror.expectedChannels < 0 || !mirror.isSubscribed {
            return "subscribed to \(max(0, mirror.subscribedChannels)) of \(max(0, mirror.expectedChannels)) channels"
        }
        if let error = status.checkError { return "last check failed: \(error)" }
        if let reason = mirror.degradedReason { return reason }
        return nil
    }

    private static func text(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body))
        )
    }
}
