/// A strict RFC 8259 parser into `JSONValue`, over raw bytes.
///
/// The mirror reads every payload it receives; Foundation's `JSONDecoder` into an enum costs a
/// thrown error per type it tries, which made it 2/3 of the mirror's time. This is one pass, no
/// Foundation, and refuses invalid UTF-8, control characters in strings and nesting deeper than 512.
/// `isObject` runs the same grammar without building values, for the mirror's per-message check.
public struct JSONParser {
    public struct Failure: Error {}

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0
    /// Checks the grammar without building values: what the mirror needs for every message.
    private var validatesOnly: Bool
    static let maximumDepth = 512

    private init(_ bytes: UnsafeBufferPointer<UInt8>, validatesOnly: Bool) {
        self.bytes = bytes
        self.validatesOnly = validatesOnly
    }

    /// Parses a whole document: one value, surrounded by optional whitespace.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes, validatesOnly: false)
        return try parser.document()
    }

    /// Whether `bytes` is a valid JSON document whose value is an object; builds nothing.
    public static func isObject(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> Bool {
        var parser = JSONParser(bytes, validatesOnly: true)
        parser.skipWhitespace()
        let isObject = parser.index < bytes.count && bytes[parser.index] == UInt8(ascii: "{")
        _ = try parser.document()
        return isObject
    }

    /// One member of an object: its key, and where its value's bytes are.
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: Range<Int>
    }

    /// The members of an object document in order, each value checked but not built, so a caller
    /// can copy values as they are; nil when the document is valid JSON but not an object.
    public static func members(of bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> [Member]? {
        var parser = JSONParser(bytes, validatesOnly: true)
        parser.skipWhitespace()
        guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "{") else {
            _ = try parser.document()
            return nil
        }
        try parser.enter()
        var members: [Member] = []
        if !parser.isEmpty(closedBy: UInt8(ascii: "}")) {
            repeat {
                parser.validatesOnly = false
                let key = try parser.key()
                parser.validatesOnly = true
                parser.skipWhitespace()
                let start = parser.index
                _ = try parser.value()
                members.append(Member(key: key, value: start..<parser.index))
            } while try !parser.isClosed(by: UInt8(ascii: "}"))
        }
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw Failure() }
        return members
    }

    private mutating func document() throws(Failure) -> JSONValue {
        let value = try value()
        skipWhitespace()
        guard index == bytes.count else { throw Failure() }
        return value
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func value() throws(Failure) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw Failure() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default: return try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Failure() }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw Failure() }
        index += count
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw Failure() }
        index += 1
    }

    private mutating func object() throws(Failure) -> JSONValue {
        try enter()
        var fields: [String: JSONValue] = [:]
        if isEmpty(closedBy: UInt8(ascii: "}")) { return .object(fields) }
        repeat {
            let key = try key()
            let field = try value()
            if !validatesOnly { fields[key] = field }
        } while try !isClosed(by: UInt8(ascii: "}"))
        return .object(fields)
    }

    /// `"key" :` inside an object.
    private mutating func key() throws(Failure) -> String {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Failure() }
        let key = try string()
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw Failure() }
        index += 1
        return key
    }

    private mutating func array() throws(Failure) -> JSONValue {
        try enter()
        var items: [JSONValue] = []
        if isEmpty(closedBy: UInt8(ascii: "]")) { return .array(items) }
        repeat {
            let item = try value()
            if !validatesOnly { items.append(item) }
        } while try !isClosed(by: UInt8(ascii: "]"))
        return .array(items)
    }

    /// Right after `{` or `[`: consumes `close` if the container is empty.
    private mutating func isEmpty(closedBy close: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == close else { return false }
        index += 1
        depth -= 1
        return true
    }

    /// After an element: `,` means another follows (false), `close` ends the container (true).
    private mutating func isClosed(by close: UInt8) throws(Failure) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw Failure() }
        switch bytes[index] {
        case UInt8(ascii: ","):
            index += 1
            return false
        case close:
            index += 1
            depth -= 1
            return true
        default:
            throw Failure()
        }
    }

    private mutating func string() throws(Failure) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes, taken whole and checked as UTF-8 once.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return try text(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw Failure() }
            index += 1
        }
        var decoded = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return try decoded.withUnsafeBufferPointer { buffer throws(Failure) in try text(buffer) }
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw Failure() }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"): decoded.append(contentsOf: try unicodeEscape())
                default: throw Failure()
                }
            default:
                guard byte >= 0x20 else { throw Failure() }
                decoded.append(byte)
            }
        }
        throw Failure()
    }

    /// `\uXXXX` (the `\u` already read), joining surrogate pairs; returns the UTF-8 bytes.
    private mutating func unicodeEscape() throws(Failure) -> String.UTF8View {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw Failure() }
            index += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw Failure() }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw Failure() }
        return String(Character(unicode)).utf8
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw Failure() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            index += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Failure()
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private func text(_ buffer: UnsafeBufferPointer<UInt8>) throws(Failure) -> String {
        if validatesOnly {
            // ASCII, most text, is valid UTF-8: the scalar decoder is for the rest.
            if !buffer.contains(where: { $0 >= 0x80 }) { return "" }
            var iterator = buffer.makeIterator()
            var decoder = Unicode.UTF8.ForwardParser()
            while true {
                switch decoder.parseScalar(from: &iterator) {
                case .valid: continue
                case .emptyInput: return ""
                case .error: throw Failure()
                }
            }
        }
        // ASCII (keys, most values) needs no validation; String(validating:) is generic and slower.
        if !buffer.contains(where: { $0 >= 0x80 }) { return String(decoding: buffer, as: UTF8.self) }
        guard let text = String(validating: buffer, as: UTF8.self) else { throw Failure() }
        return text
    }

    private mutating func number() throws(Failure) -> JSONValue {
        let start = index
        func digits() -> Int {
            let first = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                index += 1
            }
            return index - first
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0, !(integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0")) else {
            throw Failure()
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw Failure() }
            isInteger = false
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits() > 0 else { throw Failure() }
            isInteger = false
        }
        // Only a value to build, or a number that might overflow to infinity, needs converting
        // (308 digits stay below Double's maximum).
        if validatesOnly && isInteger && integerDigits <= 308 { return .null }
        let literal = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let value = Int64(literal) { return .integer(value) }
        guard let value = Double(literal), value.isFinite else { throw Failure() }
        return .number(value)
    }
}
