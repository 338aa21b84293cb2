import AgentHeartbeatCore
import Benchmark

/// The per-agent work of a check and the per-message work of the mirror, at 100,000 agents:
/// what `Benchmarks/run.py` scenario 2 measures end to end, taken apart.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident],
        maxDuration: .seconds(5)
    )

    let now: Int64 = 1_796_000_000_000
    let agents = (0..<100_000).map { MonitorConfiguration.Agent(id: "a\($0)", name: "Agent \($0)") }
    // As the mirror stores them: one in ten silent for ten minutes.
    let stored = agents.indices.map { index in
        Array(
            (#"{"received_at_ms":\#(now - (index % 10 == 0 ? 600_000 : 1_000)),"#
                + #""payload":{"status":"ok","signals_sent":\#(index),"queue":3}}"#)
                .utf8
        )
    }
    func evaluate() -> AgentStates {
        var states = AgentStates(agents: agents, now: now)
        for (index, value) in stored.enumerated() {
            value.withUnsafeBufferPointer { states.read(stored: $0, at: index) }
        }
        return states
    }
    let states = evaluate()
    let order = StatusMapRenderer.keyOrder(of: agents)

    Benchmark("read 100,000 stored records") { benchmark in
        for value in stored { blackHole(HeartbeatRecord(stored: value)) }
    }

    Benchmark("read and evaluate 100,000 stored values in place") { benchmark in
        blackHole(evaluate())
    }

    Benchmark("render the map of 100,000 agents") { benchmark in
        var bytes = 0
        StatusMapRenderer(states: states, order: order).render { bytes += $0.count }
        blackHole(bytes)
    }

    Benchmark("sort 100,000 agent ids") { benchmark in
        blackHole(StatusMapRenderer.keyOrder(of: agents))
    }

    let payload = Array(#"{"status":"ok","signals_sent":42,"queue":3}"#.utf8)
    Benchmark("check 100,000 payloads (mirror)") { benchmark in
        for _ in 0..<100_000 { blackHole(HeartbeatPayload.problem(with: payload)) }
    }
}
