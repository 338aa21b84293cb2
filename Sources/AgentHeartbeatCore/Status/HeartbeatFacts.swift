/// What the mirror tells the heartbeat script about one heartbeat, read from its payload as it
/// arrives: whether it reports a failing status, a hash to recognise the same heartbeat written by
/// another replica, and a hash of the agent's instance (to count restarts).
public struct HeartbeatFacts: Sendable, Equatable {
    /// The payload's `status` is one of the configuration's failing statuses.
    public var failing = false
    /// FNV-1a of the payload's bytes.
    public var payloadHash: UInt64 = 0
    /// FNV-1a of the payload's `instance` (or else `started_at`) value as written; nil without one.
    public var instanceHash: UInt64?
    /// The declared metrics (`AgentRules.metrics`) the payload holds as numbers, each `name=value`
    /// as the series script takes them.
    public var metrics: [[UInt8]] = []

    public init(failing: Bool = false, payloadHash: UInt64 = 0, instanceHash: UInt64? = nil) {
        self.failing = failing
        self.payloadHash = payloadHash
        self.instanceHash = instanceHash
    }

    /// Reads a payload; `usable` says it is a JSON object (`HeartbeatPayload.problem` found none).
    /// One pass over the top-level members, no value built unless `status` holds escapes.
    public init(
        payload: UnsafeBufferPointer<UInt8>,
        usable: Bool,
        isFailing: (String) -> Bool,
        metricNames: [String] = []
    ) {
        payloadHash = Self.hash(payload)
        guard usable else { return }
        var instance: Range<Int>?
        var startedAt: Range<Int>?
        JSONScanner.forEachMember(ofObject: payload) { member in
            let key = UnsafeBufferPointer(rebasing: payload[member.key])
            if key.equals("status"), payload[member.value.lowerBound] == UInt8(ascii: "\"") {
                let value = UnsafeBufferPointer(rebasing: payload[member.value])
                let text: String? =
                    if value.contains(UInt8(ascii: "\\")) {
                        if case .string(let decoded) = try? JSONParser.parse(value) { decoded } else { nil }
                    } else {
                        String(decoding: value.dropFirst().dropLast(), as: UTF8.self)
                    }
                failing = text.map(isFailing) ?? false
            } else if key.equals("instance") {
                instance = member.value
            } else if key.equals("started_at") {
                startedAt = member.value
            } else if !metricNames.isEmpty, let name = metricNames.first(where: { key.elementsEqual($0.utf8) }) {
                let value = payload[member.value]
                // JSON numbers only (strings, booleans and null are not measurements), finite.
                guard let first = value.first, first == UInt8(ascii: "-") || (48...57).contains(first),
                    let number = Double(String(decoding: value, as: UTF8.self)), number.isFinite
                else { return }
                metrics.append(Array("\(name)=".utf8) + value)
            }
        }
        if let range = instance ?? startedAt { instanceHash = Self.hash(UnsafeBufferPointer(rebasing: payload[range])) }
    }

    /// Reads what the mirror stores after the time (`HeartbeatRecord.storedFields`): a payload's
    /// facts, or for an unusable payload only the hash of its problem.
    public init(storedFields fields: [UInt8], isFailing: (String) -> Bool, metricNames: [String] = []) {
        let prefix = HeartbeatRecord.payloadPrefix
        self = fields.withUnsafeBufferPointer { fields in
            guard fields.hasPrefix(prefix) else { return HeartbeatFacts(payloadHash: Self.hash(fields)) }
            let payload = UnsafeBufferPointer(rebasing: fields[prefix.count...])
            return HeartbeatFacts(payload: payload, usable: true, isFailing: isFailing, metricNames: metricNames)
        }
    }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// A hash as the script stores it: 16 lower-case hex digits.
    public static func hex(_ hash: UInt64) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return (0..<16).reversed().map { digits[Int((hash >> (UInt64($0) * 4)) & 0xF)] }
    }
}

/// What the heartbeat script keeps about an agent's recent heartbeats, in its record's `beats`
/// member: `"<intervals>:<mean_ms>:<deviation_ms>:<failing>:<payload hash>:<instance hash>:<restarts>"`,
/// restarts being a comma-separated list of times (ms). See README, "Learned cadence".
public struct HeartbeatHistory: Sendable, Equatable {
    /// Intervals between heartbeats learned so far.
    public var intervals: Int64 = 0
    /// Exponentially weighted mean and standard deviation of the interval, in ms.
    public var meanMilliseconds: Int64 = 0
    public var deviationMilliseconds: Int64 = 0
    /// Consecutive heartbeats that reported a failing status, up to the last one.
    public var failing: Int64 = 0
    /// Whether heartbeats carry an instance (so restarts are counted).
    public var hasInstance = false
    /// When the agent restarted recently (ms), oldest first; kept for the longest restart window.
    public var restarts: [Int64] = []

    public init(
        intervals: Int64 = 0,
        meanMilliseconds: Int64 = 0,
        deviationMilliseconds: Int64 = 0,
        failing: Int64 = 0,
        hasInstance: Bool = false,
        restarts: [Int64] = []
    ) {
        self.intervals = intervals
        self.meanMilliseconds = meanMilliseconds
        self.deviationMilliseconds = deviationMilliseconds
        self.failing = failing
        self.hasInstance = hasInstance
        self.restarts = restarts
    }

    /// Intervals needed before the cadence says when an agent is late.
    public static let learnedAfter: Int64 = 5

    /// How long a silence may last before the agent counts as late by its cadence: the mean plus
    /// four deviations, at least two intervals; nil while still learning.
    public var lateAfterMilliseconds: Int64? {
        guard intervals >= Self.learnedAfter, meanMilliseconds > 0 else { return nil }
        return max(meanMilliseconds + 4 * deviationMilliseconds, 2 * meanMilliseconds)
    }

    /// Restarts at or after `since` (ms).
    public func restarts(since: Int64) -> Int { restarts.reduce(0) { $0 + ($1 >= since ? 1 : 0) } }

    /// Parses the member's text (between the quotes); nil when it is not in this layout. Read for
    /// every agent at every check: nothing is allocated unless the agent restarted recently.
    public init?(_ text: UnsafeBufferPointer<UInt8>) {
        var index = 0
        /// The digits up to the next `separator` (or the end), skipping it.
        func number(until separator: UInt8, optional: Bool = false) -> Int64?? {
            var value: Int64 = 0
            let start = index
            while index < text.count, text[index] != separator {
                let byte = text[index]
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), index - start < 18 else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
                index += 1
            }
            let empty = index == start
            index += 1
            if empty { return optional ? .some(nil) : nil }
            return .some(value)
        }
        func hex() -> Bool? {
            let start = index
            while index < text.count, text[index] != UInt8(ascii: ":") {
                guard
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[index])
                        || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(text[index])
                else { return nil }
                index += 1
            }
            guard index < text.count else { return nil }
            index += 1
            return index - 1 > start
        }
        let colon = UInt8(ascii: ":")
        guard let intervals = number(until: colon) ?? nil, let mean = number(until: colon) ?? nil,
            let deviation = number(until: colon) ?? nil, let failing = number(until: colon) ?? nil,
            hex() != nil, let hasInstance = hex()
        else { return nil }
        self.init(
            intervals: intervals,
            meanMilliseconds: mean,
            deviationMilliseconds: deviation,
            failing: failing,
            hasInstance: hasInstance
        )
        while index < text.count {
            guard let time = number(until: UInt8(ascii: ","), optional: true) else { return nil }
            if let time { restarts.append(time) }
        }
    }
}
