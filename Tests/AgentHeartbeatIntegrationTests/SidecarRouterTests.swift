import AgentHeartbeatCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

@testable import AgentHeartbeat

/// The HTTP routes in process (HummingbirdTesting's router), beside the process tests in
/// SidecarHTTPTests: what each endpoint answers before and after a check.
@Suite("Sidecar HTTP routes in process")
struct SidecarRouterTests {
    func application(status: SidecarStatus) throws -> some ApplicationProtocol {
        let mirror = HeartbeatMirror(
            url: try TestRedis.url,
            configuration: TestRedis.configuration(agents: ["mary"]),
            logger: Logger(label: "test")
        )
        return SidecarHTTPServer.application(
            address: .default,
            status: status,
            mirror: mirror,
            registry: PrometheusCollectorRegistry(),
            logger: Logger(label: "test")
        )
    }

    @Test func beforeAnyCheckAliveButNotReadyAndNoMap() async throws {
        try await application(status: SidecarStatus()).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "ok\n")
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).hasPrefix("not ready: "))
            }
            try await client.execute(uri: "/api/status", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }

    @Test func afterACheckTheMapIsServedAsWritten() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Larger than one 64 KiB chunk of the streamed body.
        let map = #"{"agents":{},"padding":""# + String(repeating: "x", count: 200_000) + #""}"#
        let path = folder.appendingPathComponent("agent_heartbeat.json").path
        try map.write(toFile: path, atomically: true, encoding: .utf8)
        let status = SidecarStatus()
        status.checked(mapPath: path)
        try await application(status: status).test(.router) { client in
            try await client.execute(uri: "/api/status", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(String(buffer: response.body) == map)
            }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(String(buffer: response.body).contains("<html"))
            }
        }
    }
}
