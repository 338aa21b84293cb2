/// Every agent's state at one check, kept by column: the configuration's agents, one plain
/// `AgentState.Evaluation` per agent, and all payloads and payload errors in one byte buffer.
/// At 100,000 agents that is about 11 MB in a handful of allocations, and reading or copying it
/// counts no references; an `AgentState` per agent (a copy of the agent and of its stored record)
/// took 30 MB and 100,000 allocations, and a quarter of a check's time went to reference counting.
///
/// As a collection it hands out `AgentState`s made on demand (the payload copied out), for the
/// few agents notifications are about, and for tests.
public struct AgentStates: Sendable, RandomAccessCollection {
    /// The agents, in the configuration's order.
    public let agents: [MonitorConfiguration.Agent]
    /// The rules they follow (`MonitorConfiguration.rules`, indexed by `Agent.rulesIndex`).
    public let rules: [AgentRules]
    /// The Redis server's clock at the check, milliseconds since 1970.
    public let now: Int64
    /// One per agent, in the same order.
    public internal(set) var evaluations: [AgentState.Evaluation] = []
    /// Where each agent's payload (or payload error) lies in `texts`.
    private var spans: [Span] = []
    private var texts: [UInt8] = []

    private struct Span: BitwiseCopyable {
        enum Kind: UInt8 { case none, payload, error }
        var start = 0
        var count: UInt32 = 0  // a Redis string is at most 512 MB
        var kind = Kind.none

        var range: Range<Int> { start..<(start + Int(count)) }
    }

    /// States for `agents`, each `unknown` until it is read (`read(stored:at:)`), in any order.
    public init(agents: [MonitorConfiguration.Agent], rules: [AgentRules] = [AgentRules()], now: Int64) {
        self.agents = agents
        self.rules = rules
        self.now = now
        let unknown = AgentState.Evaluation(threshold: 0, receivedAt: nil, now: now)
        evaluations = Array(repeating: unknown, count: agents.count)
        spans = Array(repeating: Span(), count: agents.count)
    }

    /// States made from whole ones (tests, and the subset notifications need).
    public init(_ states: some Collection<AgentState>, now: Int64) {
        var rules: [AgentRules] = []
        let agents = states.map { state in
            var agent = state.agent
            agent.rulesIndex = Int32(rules.firstIndex(of: state.rules) ?? rules.count)
            if agent.rulesIndex == rules.count { rules.append(state.rules) }
            return agent
        }
        self.init(agents: agents, rules: rules.isEmpty ? [AgentRules()] : rules, now: now)
        for (index, state) in states.enumerated() {
            if let payload = state.payload {
                payload.withUnsafeBufferPointer { set(state.evaluation, text: $0, kind: .payload, at: index) }
            } else if var error = state.payloadError {
                error.withUTF8 { set(state.evaluation, text: $0, kind: .error, at: index) }
            } else {
                set(state.evaluation, text: nil, kind: .none, at: index)
            }
        }
    }

    /// Evaluates the agent at `index` from its key's value as stored in Redis (nil when there is no
    /// key), read in place: a record (see `HeartbeatRecord`), a missing marker, or something else,
    /// which counts as no record.
    public mutating func read(stored value: UnsafeBufferPointer<UInt8>?, at index: Int) {
        let threshold = agents[index].offlineThresholdMilliseconds
        guard let value else {
            set(
                AgentState.Evaluation(threshold: threshold, receivedAt: nil, now: now),
                text: nil,
                kind: .none,
                at: index
            )
            return
        }
        guard let layout = HeartbeatRecord.layout(ofStored: value) else {
            let since = HeartbeatRecord.missingSince(stored: value)
            let evaluation = AgentState.Evaluation(threshold: threshold, receivedAt: nil, missingSince: since, now: now)
            set(evaluation, text: nil, kind: .none, at: index)
            return
        }
        var evaluation = AgentState.Evaluation(threshold: threshold, receivedAt: layout.receivedAt, now: now)
        evaluation.judge(history: layout.history, rules: rules[Int(agents[index].rulesIndex)], now: now)
        if let payload = layout.payload {
            set(evaluation, text: UnsafeBufferPointer(rebasing: value[payload]), kind: .payload, at: index)
        } else if var error = layout.error {
            error.withUTF8 { set(evaluation, text: $0, kind: .error, at: index) }
        } else {
            set(evaluation, text: nil, kind: .none, at: index)
        }
    }

    /// Read once per agent: a second read of the same agent leaves its first text unused.
    private mutating func set(
        _ evaluation: AgentState.Evaluation,
        text: UnsafeBufferPointer<UInt8>?,
        kind: Span.Kind,
        at index: Int
    ) {
        evaluations[index] = evaluation
        guard let text else {
            spans[index] = Span()
            return
        }
        spans[index] = Span(start: texts.count, count: UInt32(text.count), kind: kind)
        texts.append(contentsOf: text)
    }

    /// Room for `count` more payload bytes, so that reading them does not move the buffer.
    public mutating func reserveTextCapacity(_ count: Int) {
        texts.reserveCapacity(texts.count + count)
    }

    /// How many payload bytes are held.
    public var textCount: Int { texts.count }

    /// Calls `body` with the payload bytes, and a function that finds an agent's payload in them.
    /// Borrowed, for rendering: nothing is copied.
    public func withPayloads<Result>(
        _ body: (_ payload: (Int) -> UnsafeBufferPointer<UInt8>?) throws -> Result
    ) rethrows -> Result {
        try texts.withUnsafeBufferPointer { texts in
            try body { index in
                let span = spans[index]
                guard span.kind == .payload else { return nil }
                return UnsafeBufferPointer(rebasing: texts[span.range])
            }
        }
    }

    /// The agent's payload, a JSON object, if it has a usable one.
    public func payload(at index: Int) -> ArraySlice<UInt8>? {
        let span = spans[index]
        return span.kind == .payload ? texts[span.range] : nil
    }

    /// Why the agent's payload could not be used, if it could not.
    public func payloadError(at index: Int) -> String? {
        let span = spans[index]
        guard span.kind == .error else { return nil }
        return String(decoding: texts[span.range], as: UTF8.self)
    }

    /// The states of the agents at `indices` only, e.g. those a notification may be about.
    public func subset(_ indices: [Int]) -> AgentStates {
        AgentStates(indices.map { self[$0] }, now: now)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { evaluations.count }

    /// The agent's whole state, its payload copied out: it keeps nothing else alive.
    public subscript(index: Int) -> AgentState {
        let span = spans[index]
        let text = texts[span.range]
        return AgentState(
            agent: agents[index],
            rules: rules[Int(agents[index].rulesIndex)],
            evaluation: evaluations[index],
            payload: span.kind == .payload ? Array(text)[...] : nil,
            payloadError: span.kind == .error ? String(decoding: text, as: UTF8.self) : nil
        )
    }
}
