import AgentHeartbeat
import AgentHeartbeatCore
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real `agent-heartbeat` executable, started with `Process` in a folder of its own.
final class SidecarProcess: @unchecked Sendable {
    let process = Process()
    let folder: URL
    /// Each process serves HTTP on a port of its own, so replicas never collide.
    let httpPort: Int
    private let outputFile: URL

    /// The binary `swift test` built beside the test bundle.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["AGENT_HEARTBEAT_BINARY"] {
            return URL(fileURLWithPath: path)
        }
        return Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent("agent-heartbeat")
    }

    /// A fresh folder holding `agents.yaml` with the given text.
    static func folder(config: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "agent-heartbeat-test-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try config.write(to: folder.appendingPathComponent("agents.yaml"), atomically: true, encoding: .utf8)
        return folder
    }

    /// Starts `agent-heartbeat run` on `configuration` in a folder of its own.
    static func running(
        _ configuration: MonitorConfiguration,
        redisURL: String?,
        environment: [String: String] = [:]
    ) throws -> SidecarProcess {
        try SidecarProcess(
            ["run"],
            folder: folder(config: configuration.yaml),
            redisURL: redisURL,
            environment: environment
        )
    }

    /// Starts `agent-heartbeat ARGUMENTS` in `folder`, stdout and stderr captured to one file.
    init(_ arguments: [String], folder: URL, redisURL: String?, environment extra: [String: String] = [:]) throws {
        self.folder = folder
        httpPort = try freeLoopbackPort()
        outputFile = folder.appendingPathComponent("output-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputFile)
        process.executableURL = Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = folder
        var environment = ProcessInfo.processInfo.environment
        environment["LUKA_REDIS_URL"] = redisURL
        environment["AGENT_HEARTBEAT_CONFIG"] = nil
        environment["AGENT_HEARTBEAT_OUTPUT"] = nil
        for name in ["TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID", "TELEGRAM_API_URL", "TELEGRAM_TIMEOUT_SECONDS"] {
            environment[name] = nil
        }
        environment["AGENT_HEARTBEAT_HTTP"] = "127.0.0.1:\(httpPort)"
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    var mapPath: String { folder.appendingPathComponent("hub/agent_heartbeat.json").path }

    /// The status map the process last wrote, decoded; nil while there is none.
    func map() -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: mapPath) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// `agents.ID.status` of the last map.
    func status(of id: String) -> String? {
        ((map()?["agents"] as? [String: Any])?[id] as? [String: Any])?["status"] as? String
    }

    /// GET a path of this process's HTTP server: status and body, or nil while it does not answer.
    func get(_ path: String) async -> (status: Int, body: String)? {
        let url = "http://127.0.0.1:\(httpPort)\(path)"
        let client = HTTPClient(connectTimeout: .seconds(1), totalTimeout: .seconds(5))
        guard let response = try? await JobThread.run(named: "test-http", { try client.get(url: url) }) else {
            return nil
        }
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    /// An HTTP request to the sidecar, as an API client sends it.
    func request(
        _ method: String,
        _ path: String,
        body: [UInt8]? = nil,
        token: String? = nil
    ) async throws -> (status: Int, body: String, contentType: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 10
        if let body {
            request.httpBody = Data(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return (
            http.statusCode, String(decoding: data, as: UTF8.self), http.value(forHTTPHeaderField: "Content-Type") ?? ""
        )
    }

    /// A JSON document from the sidecar's API.
    func json(_ path: String) async throws -> [String: Any] {
        let (status, body, _) = try await request("GET", path)
        guard status == 200 else { throw TestSetupError("GET \(path) answered \(status): \(body)") }
        return try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] ?? [:]
    }

    var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// The exit status once the process ends within `timeout`, or nil if it is still running.
    func exitStatus(within timeout: Duration) async throws -> Int32? {
        let process = process
        return try await JobThread.run(named: "test-wait") { waitForExit(process, timeout: timeout) }
    }

    var isRunning: Bool { waitForExit(process, timeout: .zero) == nil }

    deinit {
        if isRunning {
            kill(process.processIdentifier, SIGKILL)
            waitForExit(process, timeout: .seconds(10))
        }
        try? FileManager.default.removeItem(at: folder)
    }
}
