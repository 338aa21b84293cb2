/// Pretty-printed JSON written straight into bytes: two-space indents and `"key" : value`, the
/// layout of Foundation's pretty printer, without building a value tree first.
struct JSONOutput {
    var bytes: [UInt8] = []

    mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func newline(indent: Int) {
        bytes.append(UInt8(ascii: "\n"))
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * 2))
    }

    /// `"key" : ` on a new line at `indent`.
    mutating func key(_ key: StaticString, indent: Int) {
        newline(indent: indent)
        bytes.append(UInt8(ascii: "\""))
        append(key)
        append("\" : ")
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0..<0x20:
                append("\\u00")
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func string(_ text: String?) {
        if let text { string(text) } else { append("null") }
    }

    mutating func integer(_ value: Int64) {
        // A decimal Int64 fits a small string: no allocation.
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func integer(_ value: Int64?) {
        if let value { integer(value) } else { append("null") }
    }

    /// Copies a JSON value that was already validated, re-indented at `indent`; strings, numbers
    /// and the order of keys stay as they came.
    mutating func value(_ raw: UnsafeBufferPointer<UInt8>, indent: Int) {
        var level = indent
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                index += 1
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while raw[index] != UInt8(ascii: "\"") { index += raw[index] == UInt8(ascii: "\\") ? 2 : 1 }
                index += 1
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: raw[start..<index]))
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                bytes.append(byte)
                index += 1
                while raw[index] == 0x20 || raw[index] == 0x09 || raw[index] == 0x0A || raw[index] == 0x0D { index += 1 }
                // Valid JSON: the next byte closes the container only when it is empty.
                if raw[index] == UInt8(ascii: "}") || raw[index] == UInt8(ascii: "]") {
                    bytes.append(raw[index])
                    index += 1
                } else {
                    level += 1
                    newline(indent: level)
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                level -= 1
                newline(indent: level)
                bytes.append(byte)
                index += 1
            case UInt8(ascii: ","):
                bytes.append(byte)
                newline(indent: level)
                index += 1
            case UInt8(ascii: ":"):
                append(" : ")
                index += 1
            default:
                bytes.append(byte)
                index += 1
            }
        }
    }

    static let hexDigits = Array("0123456789abcdef".utf8)
}
