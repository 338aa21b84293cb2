/// Finds the items of an array reply (what MGET and HMGET answer) in the wire format, in place:
/// no reply object per item. hiredis allocates two per item and frees them again, which took a
/// fifth of a check at 100,000 agents. Pure: `RedisConnection.readArray` feeds it hiredis' buffer.
///
/// Items are bulk strings or nulls; a status, integer or error item reads as no string, as in
/// `RedisReply.bytes`. A nested aggregate, or anything else hiredis 0.14 would not read (RESP3's
/// types among them), is a protocol error.
package enum RedisArrayScanner {
    /// The longest bulk string Redis sends (`proto-max-bulk-len`'s ceiling).
    static let maximumBulkLength = 512 * 1024 * 1024

    package enum Header: Equatable {
        /// `*<count>\r\n`, the first item beginning at `end`.
        case array(count: Int, end: Int)
        /// Not all there yet.
        case incomplete
        /// An error reply, a null, or anything else: for hiredis to read.
        case other
    }

    /// What the reply at `start` begins with.
    package static func header(in bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Header {
        guard start < bytes.count else { return .incomplete }
        guard bytes[start] == UInt8(ascii: "*") else { return .other }
        do throws(RedisError) {
            guard let (count, end) = try line(bytes, start) else { return .incomplete }
            guard let count else { return .other }
            return .array(count: count, end: end)
        } catch {
            return .other
        }
    }

    /// The item at `start`: a bulk string's bytes (nil for anything else) and where the next item
    /// begins; nil when the item is not all there yet.
    package static func item(
        in bytes: UnsafeBufferPointer<UInt8>,
        at start: Int
    ) throws(RedisError) -> (value: Range<Int>?, end: Int)? {
        guard start < bytes.count else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "$"):
            guard let (length, end) = try line(bytes, start) else { return nil }
            guard let length else { return (nil, end) }  // `$-1`, the null bulk string
            guard length <= maximumBulkLength else { throw protocolError("a bulk string of \(length) bytes") }
            guard end + length + 2 <= bytes.count else { return nil }
            guard bytes[end + length] == 0x0D, bytes[end + length + 1] == 0x0A else {
                throw protocolError("a bulk string without its line end")
            }
            return (end..<(end + length), end + length + 2)
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"):
            guard let end = lineEnd(bytes, after: start) else { return nil }
            return (nil, end)
        default:
            throw protocolError("an item of type \(Unicode.Scalar(bytes[start]).escaped(asASCII: true))")
        }
    }

    /// The number on the line at `start` (after its type byte) and where the next line begins;
    /// nil inside when it is -1 (a null). Nil when the line is not all there yet.
    private static func line(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) throws(RedisError) -> (Int?, Int)? {
        guard let end = lineEnd(bytes, after: start) else { return nil }
        let digits = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(end - 2)])
        if digits.count == 2, digits[0] == UInt8(ascii: "-"), digits[1] == UInt8(ascii: "1") { return (nil, end) }
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw protocolError("a length that is not a number")
        }
        return (digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }, end)
    }

    /// Where the line that starts at `start` ends, after its `\r\n`; nil when it is not all there.
    private static func lineEnd(_ bytes: UnsafeBufferPointer<UInt8>, after start: Int) -> Int? {
        var index = start + 1
        while index + 1 < bytes.count {
            if bytes[index] == 0x0D, bytes[index + 1] == 0x0A { return index + 2 }
            index += 1
        }
        return nil
    }

    private static func protocolError(_ what: String) -> RedisError {
        RedisError(.connectionLost, "protocol error from Redis: \(what) in an array reply")
    }
}
