/// Walks JSON that `JSONParser` already validated, without checking it again or building values:
/// how the map renderer reads each stored payload.
enum JSONScanner {
    /// One member of an object: its key's bytes between the quotes (as written, escapes and all)
    /// and its value's bytes.
    struct Member {
        var key: Range<Int>
        var value: Range<Int>
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    static func skipWhitespace(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < bytes.count, isWhitespace(bytes[index]) { index += 1 }
        return index
    }

    /// From an opening quote to just after its closing quote.
    static func endOfString(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start + 1
        while bytes[index] != UInt8(ascii: "\"") { index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1 }
        return index + 1
    }

    /// From a value's first byte to just after its last.
    static func endOfValue(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return endOfString(bytes, from: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            repeat {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index = endOfString(bytes, from: index)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
                index += 1
            } while depth > 0
            return index
        default:  // a number or a literal
            var index = start
            while index < bytes.count, !isDelimiter(bytes[index]) { index += 1 }
            return index
        }
    }

    private static func isDelimiter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || isWhitespace(byte)
    }

    /// Calls `body` with each member of a valid JSON object, in order.
    static func forEachMember(ofObject bytes: UnsafeBufferPointer<UInt8>, _ body: (Member) -> Void) {
        var index = skipWhitespace(bytes, from: 0) + 1  // past "{"
        while true {
            index = skipWhitespace(bytes, from: index)
            guard bytes[index] == UInt8(ascii: "\"") else { return }  // "}" of an empty object
            let keyEnd = endOfString(bytes, from: index)
            let key = index + 1..<keyEnd - 1
            index = skipWhitespace(bytes, from: keyEnd) + 1  // past ":"
            let valueStart = skipWhitespace(bytes, from: index)
            index = endOfValue(bytes, from: valueStart)
            body(Member(key: key, value: valueStart..<index))
            index = skipWhitespace(bytes, from: index)
            guard bytes[index] == UInt8(ascii: ",") else { return }
            index += 1
        }
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes begin with `prefix` at `offset`. Plain loops over bytes: the generic
    /// `starts(with:)` and `elementsEqual` cost several times more, once per agent per check.
    func hasPrefix(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
        guard offset >= 0, count - offset >= prefix.count else { return false }
        return prefix.withUnsafeBufferPointer { prefix in
            for index in 0..<prefix.count where self[offset + index] != prefix[index] { return false }
            return true
        }
    }

    /// Whether these bytes are exactly `text`.
    func equals(_ text: StaticString) -> Bool {
        guard count == text.utf8CodeUnitCount else { return false }
        for index in 0..<count where self[index] != text.utf8Start[index] { return false }
        return true
    }
}
