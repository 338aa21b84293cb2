// swift-tools-version:6.1
// Micro-benchmarks of the functional core (ordo-one/benchmark), apart from the main package so
// that `swift test` never builds or runs them. Run: `cd Benchmarks && swift package benchmark`.
import PackageDescription

let package = Package(
    name: "agent-heartbeat-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "agent-heartbeat", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "AgentHeartbeatCore", package: "agent-heartbeat"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
