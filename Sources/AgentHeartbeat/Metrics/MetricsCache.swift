import Metrics

/// Per-agent counters created once and reused: making a metric looks it up in the factory,
/// which is too slow for the mirror's per-message path.
struct MetricsCache {
    let label: String
    private var counters: [String: Counter] = [:]

    init(label: String) {
        self.label = label
    }

    mutating func counter(_ agentID: String) -> Counter {
        if let counter = counters[agentID] { return counter }
        let counter = Counter(label: label, dimensions: [("agent", agentID)])
        counters[agentID] = counter
        return counter
    }
}
