import AgentHeartbeatCore

/// Writes commands in Redis' wire format (RESP) into one buffer, argument by argument, with no
/// array per argument: at 100,000 agents the checker writes 200,000 arguments per check into a
/// buffer it reuses, instead of keeping 8 MB of requests encoded in advance.
package struct RedisCommandWriter {
    package private(set) var bytes: [UInt8] = []

    package init() {}

    /// Starts a command of `count` arguments, its name the first.
    package mutating func begin(arguments count: Int) {
        bytes.append(UInt8(ascii: "*"))
        line(count)
    }

    /// One argument: `prefix` followed by `text`, as one string. (Concrete types, not generic
    /// ones: unspecialised across modules, a generic version cost a fifth of a check.)
    package mutating func argument(_ prefix: [UInt8], _ text: String) {
        var text = text
        text.withUTF8 { text in
            bytes.append(UInt8(ascii: "$"))
            line(prefix.count + text.count)
            bytes.append(contentsOf: prefix)
            bytes.append(contentsOf: text)
            bytes.append(0x0D)
            bytes.append(0x0A)
        }
    }

    package mutating func argument(_ text: String) { argument([], text) }

    package mutating func argument(_ bytes: [UInt8]) {
        self.bytes.append(UInt8(ascii: "$"))
        line(bytes.count)
        self.bytes.append(contentsOf: bytes)
        self.bytes.append(0x0D)
        self.bytes.append(0x0A)
    }

    /// Empties the buffer, keeping its capacity.
    package mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// `value` in decimal, then a line end.
    private mutating func line(_ value: Int) {
        precondition(value >= 0, "a negative count")
        withDecimalDigits(of: UInt64(value)) { bytes.append(contentsOf: $0) }
        bytes.append(0x0D)
        bytes.append(0x0A)
    }
}
