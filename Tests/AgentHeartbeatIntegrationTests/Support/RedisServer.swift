import AgentHeartbeat
import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation

/// A redis-server of the test's own on a free loopback port, for tests that kill and restart it.
final class RedisServer: @unchecked Sendable {
    let port: Int
    private var process: Process?

    let extraArguments: [String]
    /// For a sentinel: its configuration, given its port.
    private let sentinelConfig: (@Sendable (Int) -> String)?
    private var sentinelFile: URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("agent-heartbeat-sentinel-\(port).conf")
    }

    private init(_ extraArguments: [String], sentinelConfig: (@Sendable (Int) -> String)? = nil) throws {
        port = try freeLoopbackPort()
        self.extraArguments = extraArguments
        self.sentinelConfig = sentinelConfig
    }

    /// A sentinel (`redis-server CONF --sentinel`) with the given configuration.
    static func startSentinel(_ config: @escaping @Sendable (Int) -> String) async throws -> RedisServer {
        let server = try RedisServer([], sentinelConfig: config)
        try await server.restart()
        return server
    }

    /// Starts a server and waits until it accepts connections, off the cooperative pool.
    static func start(_ extraArguments: [String] = []) async throws -> RedisServer {
        let server = try RedisServer(extraArguments)
        try await server.restart()
        return server
    }

    func restart() async throws {
        try await JobThread.run(named: "redis-server") { try self.launch() }
    }

    func stop() async {
        await (try? JobThread.run(named: "redis-server") { self.kill() }) ?? ()
    }

    var url: RedisURL { RedisURL(host: "127.0.0.1", port: port) }

    private func launch() throws {
        let process = Process()
        process.executableURL = try findExecutable("redis-server")
        let common = ["--port", "\(port)", "--bind", "127.0.0.1", "--loglevel", "warning"]
        if let sentinelConfig {
            // Sentinel rewrites its configuration file: one of its own, in a folder of its own.
            try sentinelConfig(port).write(to: sentinelFile, atomically: true, encoding: .utf8)
            process.arguments = [sentinelFile.path, "--sentinel"] + common
        } else {
            process.arguments = common + ["--save", "", "--appendonly", "no"] + extraArguments
        }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Ready when it accepts a connection; tests must not race its start-up.
        let deadline = ContinuousClock.now + .seconds(10)
        while (try? RedisConnection(url: url)) == nil {
            guard ContinuousClock.now < deadline else {
                throw TestSetupError("redis-server on port \(port) did not start")
            }
            usleep(20_000)
        }
    }

    /// SIGSTOP freezes the server (connections stay open, nothing answers); SIGCONT thaws it.
    func signal(_ signal: Int32) {
        if let process { Foundation.kill(process.processIdentifier, signal) }
    }

    /// A client of its own (closed by the caller).
    func client() -> RedisClient { RedisClient(url: url, name: "test-private-redis") }

    /// SIGKILL: the server vanishes as in a crash.
    func kill() {
        guard let process else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        waitForExit(process)
        self.process = nil
    }

    deinit {
        kill()
        if sentinelConfig != nil { try? FileManager.default.removeItem(at: sentinelFile) }
    }
}

func findExecutable(_ name: String) throws -> URL {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for folder in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/bin"] {
        let candidate = "\(folder)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
    }
    throw TestSetupError("\(name) not found on PATH; scripts/test.sh installs it")
}

/// Asks the kernel for a free port by binding port 0 on loopback.
func freeLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestSetupError("socket() failed") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
        }
    }
    guard bound else { throw TestSetupError("bind() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
