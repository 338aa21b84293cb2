// swift-tools-version:6.1
import PackageDescription

// Linux only (glibc extensions in CGlibc, Glibc calls, Debian's C libraries): no Apple platform is declared.
let package = Package(
    name: "agent-heartbeat",
    products: [
        .executable(name: "agent-heartbeat", targets: ["agent-heartbeat"]),
        // For the micro-benchmarks in Benchmarks/Package.swift.
        .library(name: "AgentHeartbeatCore", targets: ["AgentHeartbeatCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // C libraries from Debian, one system-library target each.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // glibc extensions (malloc_trim, thread names); part of libc, nothing to install.
        .systemLibrary(name: "CGlibc"),

        // Functional core: configuration, status evaluation, map rendering. No I/O.
        .target(
            name: "AgentHeartbeatCore",
            dependencies: ["CYAML"],
            resources: [.embedInCode("StatusMap/agent_heartbeat.schema.json")]
        ),
        // The Redis protocol over hiredis: commands, replies, one blocking connection.
        .target(
            name: "AgentHeartbeatRedis",
            dependencies: [
                "AgentHeartbeatCore", "CHiredis", "CHiredisLimits",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // A bound on what a reply may make hiredis allocate.
        .target(name: "CHiredisLimits", dependencies: ["CHiredis"]),
        // Imperative shell: Redis, HTTP, threads, files, services.
        .target(
            name: "AgentHeartbeat",
            dependencies: [
                "AgentHeartbeatCore",
                "AgentHeartbeatRedis",
                "CCurl",
                "CGlibc",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            resources: [.embedInCode("HTTP/dashboard.html"), .embedInCode("HTTP/openapi.json")]
        ),
        .executableTarget(
            name: "agent-heartbeat",
            dependencies: [
                "AgentHeartbeat",
                "AgentHeartbeatCore",
                "AgentHeartbeatRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // libFuzzer targets (scripts/fuzz.sh); built normally, it replays inputs.
        .executableTarget(name: "agent-heartbeat-fuzz", dependencies: ["AgentHeartbeatCore", "AgentHeartbeatRedis"]),
        // What both test targets share: reading status maps back (with Foundation).
        .target(
            name: "AgentHeartbeatTestSupport",
            dependencies: ["AgentHeartbeatCore"],
            path: "Tests/AgentHeartbeatTestSupport"
        ),
        .testTarget(
            name: "AgentHeartbeatCoreTests",
            dependencies: ["AgentHeartbeatCore", "AgentHeartbeatTestSupport"]
        ),
        .testTarget(
            name: "AgentHeartbeatIntegrationTests",
            dependencies: [
                "AgentHeartbeat",
                "AgentHeartbeatCore",
                "AgentHeartbeatRedis",
                "AgentHeartbeatTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
