/// `value`'s decimal digits, handed to `body` without making a String (`String(value)` took a sixth
/// of writing a map entry; the checker's requests write 100 lengths per chunk too).
public func withDecimalDigits(of value: UInt64, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: a UInt64 has at most 20 digits
    withUnsafeMutableBytes(of: &digits) { buffer in
        var rest = value
        var start = buffer.count
        repeat {
            start -= 1
            buffer[start] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        } while rest > 0
        body(UnsafeBufferPointer(rebasing: buffer.bindMemory(to: UInt8.self)[start...]))
    }
}
