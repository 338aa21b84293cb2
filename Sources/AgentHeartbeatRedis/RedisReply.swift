internal import CHiredis

/// A reply from Redis, copied out of hiredis' reply object.
public enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    case null
    /// An error reply (`-ERR ...`): the command failed, the connection is fine.
    case error(String)

    init(_ reply: UnsafePointer<redisReply>) {
        let value = reply.pointee
        func text() -> [UInt8] {
            guard let start = value.str else { return [] }
            return start.withMemoryRebound(to: UInt8.self, capacity: value.len) {
                Array(UnsafeBufferPointer(start: $0, count: value.len))
            }
        }
        switch value.type {
        case REDIS_REPLY_STRING: self = .string(text())
        case REDIS_REPLY_STATUS: self = .status(String(decoding: text(), as: UTF8.self))
        case REDIS_REPLY_ERROR: self = .error(String(decoding: text(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: self = .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            self = .array((0..<value.elements).map { RedisReply(UnsafePointer(value.element[$0]!)) })
        default: self = .null
        }
    }

    /// What kind of reply this is, without its data (payloads must not reach logs): for errors.
    public var shape: String {
        switch self {
        case .string(let bytes): "a string of \(bytes.count) bytes"
        case .status: "a status"
        case .integer: "an integer"
        case .array(let items): "an array of \(items.count) items"
        case .null: "null"
        case .error(let message): "the error \(message.prefix(while: { $0 != " " }))"
        }
    }

    public var bytes: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }

    public var text: String? {
        switch self {
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .string(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    public var array: [RedisReply]? {
        if case .array(let items) = self { return items }
        return nil
    }
}
