internal import CHiredis
internal import CHiredisLimits

extension RedisReply {
    /// Every complete reply in `bytes` (the wire format), read by hiredis' parser and copied out as
    /// a connection does (`RedisConnection.readReply`, `drainBufferedPushes`); `eachPush` sees each
    /// reply that is a pub/sub push. For the fuzzer (Sources/agent-heartbeat-fuzz) and tests.
    package static func replies(
        inWireFormat bytes: [UInt8],
        eachPush: (borrowing RedisPush) -> Void = { _ in }
    ) throws(RedisError) -> [RedisReply] {
        guard let reader = redisReaderCreate() else { throw RedisError(.connectionLost, "out of memory") }
        defer { redisReaderFree(reader) }
        chiredis_limit_arrays(reader)
        let fed = bytes.withUnsafeBytes { buffer in
            redisReaderFeed(reader, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
        }
        guard fed == REDIS_OK else { throw RedisError(.connectionLost, "hiredis refused the bytes") }
        var replies: [RedisReply] = []
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
                throw RedisError(.connectionLost, "protocol error from Redis")
            }
            guard let raw else { return replies }
            defer { freeReplyObject(raw) }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            if let push = RedisPush(reply) { eachPush(push) }
            replies.append(RedisReply(reply))
        }
    }
}
