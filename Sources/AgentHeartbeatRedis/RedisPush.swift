internal import CHiredis

/// A pub/sub push (`message`, `subscribe`, `unsubscribe`) seen in place inside hiredis' reply
/// object: nothing is copied, and the buffers are valid only while the handler runs.
package struct RedisPush: ~Copyable {
    package enum Kind {
        case message
        case subscribe
        case unsubscribe
    }

    package var kind: Kind
    /// Sharded pub/sub (`smessage`, `ssubscribe`, `sunsubscribe`): counted apart by Redis.
    package var sharded: Bool
    package var channel: UnsafeBufferPointer<UInt8>
    /// The message's payload; empty for (un)subscribe confirmations.
    package var payload: UnsafeBufferPointer<UInt8>
    /// For (un)subscribe confirmations: how many channels the connection is subscribed to now.
    package var subscriptions: Int

    /// Nil for anything that is not a well-formed push.
    init?(_ reply: UnsafePointer<redisReply>) {
        let value = reply.pointee
        guard value.type == REDIS_REPLY_ARRAY, value.elements == 3, let items = value.element,
            let first = items[0], let second = items[1], let third = items[2],
            let kind = Self.bytes(first), let channel = Self.bytes(second)
        else { return nil }
        // Noncopyable: every stored property is set once, at the end.
        let pushKind: Kind
        var payload = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        var subscriptions = 0
        // "smessage", "ssubscribe", "sunsubscribe": the same pushes for shard channels.
        // (A classic "message" fails the first test: the hot path pays one byte comparison.)
        let stripped = kind.dropFirst()
        let sharded =
            kind.first == UInt8(ascii: "s")
            && (stripped.elementsEqual("message".utf8) || stripped.elementsEqual("subscribe".utf8)
                || stripped.elementsEqual("unsubscribe".utf8))
        let name = sharded ? UnsafeBufferPointer(rebasing: stripped) : kind
        if name.elementsEqual("message".utf8), let bytes = Self.bytes(third) {
            pushKind = .message
            payload = bytes
        } else if third.pointee.type == REDIS_REPLY_INTEGER,
            name.elementsEqual("subscribe".utf8) || name.elementsEqual("unsubscribe".utf8)
        {
            pushKind = name.elementsEqual("subscribe".utf8) ? .subscribe : .unsubscribe
            subscriptions = Int(third.pointee.integer)
        } else {
            return nil
        }
        self.kind = pushKind
        self.sharded = sharded
        self.channel = channel
        self.payload = payload
        self.subscriptions = subscriptions
    }

    private static func bytes(_ reply: UnsafeMutablePointer<redisReply>) -> UnsafeBufferPointer<UInt8>? {
        guard reply.pointee.type == REDIS_REPLY_STRING else { return nil }
        return UnsafeRawBufferPointer(start: reply.pointee.str, count: reply.pointee.len).assumingMemoryBound(
            to: UInt8.self
        )
    }
}
