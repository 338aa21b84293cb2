/// An agent's last heartbeat as its Redis key holds it (see README, "Redis key contract"):
/// a string, `{"received_at_ms":<ms>,"payload":{…}}` or `{"received_at_ms":<ms>,"error":"…"}`.
public struct HeartbeatRecord: Sendable, Equatable {
    /// When the heartbeat arrived, in milliseconds since 1970 on the Redis server's clock.
    public var receivedAt: Int64
    /// The payload's bytes, always a valid JSON object; nil when absent or unusable.
    public private(set) var payload: ArraySlice<UInt8>?
    /// Why the payload could not be used.
    public private(set) var error: String?
    /// What the mirror's script learnt from the agent's heartbeats so far; nil in a record written
    /// by something else.
    public var history: HeartbeatHistory?

    /// A record from its parts; a payload that is not a JSON object becomes an `error`.
    public init(receivedAt: Int64, payload: [UInt8]? = nil, error: String? = nil, history: HeartbeatHistory? = nil) {
        self.receivedAt = receivedAt
        self.error = error
        self.history = history
        guard error == nil, let payload else { return }
        if let problem = HeartbeatPayload.problem(with: payload) {
            self.error = problem.description
        } else {
            self.payload = payload[...]
        }
    }

    /// Reads a stored value; nil when it is not a record (written by something else, or without a
    /// valid time), which the checker treats as never heard from.
    public init?(stored value: [UInt8]) {
        guard let layout = value.withUnsafeBufferPointer(Self.layout(ofStored:)) else { return nil }
        receivedAt = layout.receivedAt
        payload = layout.payload.map { value[$0] }
        error = layout.error
        history = layout.history
    }

    /// A stored record's parts, found in place: the checker reads one per agent in hiredis' buffer.
    public struct Layout: Sendable, Equatable {
        public var receivedAt: Int64
        /// Where the payload lies in the stored value, always a valid JSON object; nil when absent
        /// or unusable.
        public var payload: Range<Int>?
        /// Why the payload could not be used.
        public var error: String?
        public var history: HeartbeatHistory?
    }

    /// The parts of a stored value; nil when it is not a record (see `init(stored:)`).
    public static func layout(ofStored value: UnsafeBufferPointer<UInt8>) -> Layout? {
        if let layout = mirroredLayout(of: value) { return layout }
        guard let members = (try? JSONParser.members(of: value)) ?? nil else { return nil }
        var receivedAt: Int64?
        var payload: Range<Int>?
        var error: String?
        var history: HeartbeatHistory?
        for member in members {
            let bytes = UnsafeBufferPointer(rebasing: value[member.value])
            switch member.key {
            case Field.receivedAt: receivedAt = Int64(String(decoding: bytes, as: UTF8.self))
            case Field.payload: payload = member.value
            case Field.error:
                if case .string(let text) = try? JSONParser.parse(bytes) { error = text }
            case Field.beats:
                if bytes.count >= 2 {
                    history = HeartbeatHistory(UnsafeBufferPointer(rebasing: bytes.dropFirst().dropLast()))
                }
            default: continue
            }
        }
        guard let receivedAt else { return nil }
        if error != nil {
            payload = nil
        } else if let range = payload, value[range.lowerBound] != UInt8(ascii: "{") {
            payload = nil
            error = HeartbeatPayload.Problem.notAnObject.description
        }
        return Layout(receivedAt: receivedAt, payload: payload, error: error, history: history)
    }

    private static let head = Array(#"{"\#(Field.receivedAt)":"#.utf8)
    private static let middle = Array(#","\#(Field.payload)":"#.utf8)
    private static let beatsHead = Array(#","\#(Field.beats)":""#.utf8)

    /// The mirror's own layout, `{"received_at_ms":<digits>,"beats":"…","payload":{…}}` (`beats`
    /// absent in older versions), read without a general
    /// parse (the checker reads one per agent); only the payload is validated.
    private static func mirroredLayout(of value: UnsafeBufferPointer<UInt8>) -> Layout? {
        let (head, middle) = (Self.head, Self.middle)
        guard value.count > head.count + middle.count + 3, value.hasPrefix(head), value.last == UInt8(ascii: "}")
        else { return nil }
        var index = head.count
        var time: Int64 = 0
        while index < value.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(value[index]),
            index - head.count < 18
        {
            time = time * 10 + Int64(value[index] - UInt8(ascii: "0"))
            index += 1
        }
        guard index > head.count else { return nil }
        var history: HeartbeatHistory?
        if value.hasPrefix(beatsHead, at: index) {
            let start = index + beatsHead.count
            var end = start
            while end < value.count, value[end] != UInt8(ascii: "\"") { end += 1 }
            guard end < value.count, let parsed = HeartbeatHistory(UnsafeBufferPointer(rebasing: value[start..<end]))
            else { return nil }
            history = parsed
            index = end + 1
        }
        guard value.hasPrefix(middle, at: index) else { return nil }
        let payload = (index + middle.count)..<(value.count - 1)
        guard (try? JSONParser.isObject(UnsafeBufferPointer(rebasing: value[payload]))) == true else { return nil }
        return Layout(receivedAt: time, payload: payload, history: history)
    }

    /// What a check stores in the key of an agent with no heartbeat on record, `{"missing_since_ms":<ms>}`
    /// (SET NX, so it never replaces a heartbeat): the agent stays unknown for one threshold
    /// counted from then, then turns offline. The next heartbeat overwrites it.
    public static func missingMarker(since milliseconds: Int64) -> [UInt8] {
        Array(#"{"\#(Field.missingSince)":\#(milliseconds)}"#.utf8)
    }

    /// The time in a `missingMarker`, or nil when `value` is not one.
    public static func missingSince(stored value: [UInt8]) -> Int64? {
        value.withUnsafeBufferPointer(missingSince(stored:))
    }

    public static func missingSince(stored value: UnsafeBufferPointer<UInt8>) -> Int64? {
        let head = missingHead
        guard value.count > head.count + 1, value.hasPrefix(head), value.last == UInt8(ascii: "}") else {
            return nil
        }
        let digits = value[head.count..<(value.count - 1)]
        let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        guard digits.count <= 18, digits.allSatisfy(isDigit) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
    }

    private static let missingHead = Array(#"{"\#(Field.missingSince)":"#.utf8)

    /// Member names of the stored value.
    public enum Field {
        public static let missingSince = "missing_since_ms"
        public static let receivedAt = "received_at_ms"
        public static let payload = "payload"
        public static let error = "error"
        public static let beats = "beats"
    }

    /// What the mirror stores after the time: `"payload":{…}` when the payload is usable,
    /// else `"error":"<problem>"`. The script that writes the key adds the time around it.
    /// The mirror makes one per heartbeat: a usable payload costs one allocation.
    public static func storedFields(payload: UnsafeBufferPointer<UInt8>, problem: HeartbeatPayload.Problem?) -> [UInt8]
    {
        guard let problem else {
            var fields = payloadPrefix
            fields.reserveCapacity(payloadPrefix.count + payload.count)
            fields.append(contentsOf: payload)
            return fields
        }
        var output = JSONOutput(capacity: 128)
        output.string(Field.error)
        output.append(UInt8(ascii: ":"))
        output.string(problem.description)
        return Array(output.bytes)
    }

    public static func storedFields(payload: [UInt8], problem: HeartbeatPayload.Problem?) -> [UInt8] {
        payload.withUnsafeBufferPointer { storedFields(payload: $0, problem: problem) }
    }

    static let payloadPrefix = Array(#""\#(Field.payload)":"#.utf8)
}
