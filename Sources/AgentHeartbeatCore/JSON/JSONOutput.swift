/// JSON written straight into bytes, without building a value tree first: pretty-printed with
/// two-space indents and `"key" : value` (the layout of Foundation's pretty printer), or compact.
///
/// Owns a plain growing buffer: the map renderer appends some forty pieces per agent, and Swift
/// arrays' uniqueness and capacity checks on every append were a measurable share of a check.
struct JSONOutput: ~Copyable {
    private var start: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0
    /// Compact output drops the line breaks, indents and spaces around colons.
    let pretty: Bool
    /// See `time(milliseconds:)`.
    private var lastDay: (day: Int64, text: [UInt8]) = (.min, [])

    init(capacity: Int = 4096, pretty: Bool = true) {
        self.pretty = pretty
        self.capacity = max(capacity, 16)
        start = .allocate(capacity: self.capacity)
    }

    deinit { start.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: count) }

    mutating func removeAll() { count = 0 }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(extra) }
    }

    private mutating func grow(_ extra: Int) {
        let grown = max(capacity * 2, count + extra)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        moved.update(from: start, count: count)
        start.deallocate()
        start = moved
        capacity = grown
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        start[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        reserve(buffer.count)
        (start + count).update(from: base, count: buffer.count)
        count += buffer.count
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func newline(indent: Int) {
        guard pretty else { return }
        append(UInt8(ascii: "\n"))
        let spaces: StaticString = "                                                                "
        var remaining = indent * 2
        while remaining > 0 {
            let count = min(remaining, spaces.utf8CodeUnitCount)
            append(UnsafeBufferPointer(start: spaces.utf8Start, count: count))
            remaining -= count
        }
    }

    /// `"key" : ` on a new line at `indent`.
    mutating func key(_ key: StaticString, indent: Int) {
        newline(indent: indent)
        append(UInt8(ascii: "\""))
        append(key)
        append(UInt8(ascii: "\""))
        colon()
    }

    /// `"key" : "text",` on a new line at `indent`: a member followed by another.
    mutating func stringMember(_ key: StaticString, _ text: String, indent: Int) {
        self.key(key, indent: indent)
        string(text)
        append(UInt8(ascii: ","))
    }

    /// `"channel" : "…",`: a default channel written from the agent's id, without building it.
    mutating func channelMember(_ agent: MonitorConfiguration.Agent, indent: Int = 3) {
        guard agent.hasDefaultChannel else { return stringMember("channel", agent.channel, indent: indent) }
        key("channel", indent: indent)
        append(UInt8(ascii: "\""))
        stringContents(MonitorConfiguration.Agent.defaultChannelPrefix)
        stringContents(agent.id)
        append("\",")
    }

    /// Between a key and its value.
    mutating func colon() {
        if pretty { append(" : ") } else { append(UInt8(ascii: ":")) }
    }

    mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { string($0) }
    }

    mutating func string(_ text: UnsafeBufferPointer<UInt8>) {
        append(UInt8(ascii: "\""))
        stringContents(text)
        append(UInt8(ascii: "\""))
    }

    /// Text escaped for the inside of a JSON string, without the quotes.
    mutating func stringContents(_ text: String) {
        var text = text
        text.withUTF8 { stringContents($0) }
    }

    mutating func stringContents(_ text: UnsafeBufferPointer<UInt8>) {
        // Most text needs no escaping: copied whole.
        guard text.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            return append(text)
        }
        for byte in text {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0..<0x20:
                append("\\u00")
                append(Self.hexDigit(byte >> 4))
                append(Self.hexDigit(byte & 0x0F))
            default: append(byte)
            }
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// A quoted ISO 8601 time, or null. The date of the last day written is kept: most times in a
    /// map fall on the same day, and working out a date cost a tenth of rendering one.
    mutating func time(milliseconds: Int64?) {
        guard let milliseconds else { return append("null") }
        let (day, millisecond) = ISO8601.split(milliseconds)
        if day != lastDay.day { lastDay = (day, ISO8601.date(day: day)) }
        append(UInt8(ascii: "\""))
        lastDay.text.withUnsafeBufferPointer { append($0) }
        ISO8601.withTime(millisecondOfDay: millisecond) { append($0) }
        append(UInt8(ascii: "\""))
    }

    /// Milliseconds as a number of seconds: `5003` → `5.003`, `5000` → `5`.
    mutating func seconds(milliseconds: Int64) {
        integer(milliseconds / 1000)
        let fraction = milliseconds % 1000
        guard fraction > 0 else { return }
        append(UInt8(ascii: "."))
        var digits = fraction
        var divisor: Int64 = 100
        while digits > 0 {
            append(UInt8(ascii: "0") + UInt8(digits / divisor))
            digits %= divisor
            divisor /= 10
        }
    }

    /// `3725` → `1h 2m 5s`, as `formatDuration` writes it.
    mutating func duration(seconds: Int64) {
        guard seconds > 0 else { return append("0s") }
        let start = count
        for (amount, unit) in [
            (seconds / 86_400, "d"), (seconds % 86_400 / 3600, "h"), (seconds % 3600 / 60, "m"), (seconds % 60, "s"),
        ] as [(Int64, Unicode.Scalar)]
        where amount > 0 {
            if count > start { append(UInt8(ascii: " ")) }
            integer(amount)
            append(UInt8(ascii: unit))
        }
    }

    mutating func integer(_ value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        withDecimalDigits(of: value.magnitude) { append($0) }
    }

    mutating func integer(_ value: Int64?) {
        if let value { integer(value) } else { append("null") }
    }

    /// Copies a JSON value that was already validated, compact: only the whitespace between
    /// tokens goes; strings, numbers and the order of keys stay as they came. Never re-indented,
    /// so the map stays within the payload's size however deep it nests (issue 9: a 64 KB payload
    /// nested 510 deep once made a 33 MB map).
    mutating func value(_ raw: UnsafeBufferPointer<UInt8>) {
        // A string, number or literal has no whitespace to drop: copied whole.
        if let first = raw.first, first != UInt8(ascii: "{"), first != UInt8(ascii: "[") { return append(raw) }
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                index += 1
            case UInt8(ascii: "\""):
                let end = JSONScanner.endOfString(raw, from: index)
                append(UnsafeBufferPointer(rebasing: raw[index..<end]))
                index = end
            default:
                append(byte)
                index += 1
            }
        }
    }
}
