internal import CHiredis

extension RedisConnection {
    /// Reads the next reply, which must be an array of `count` items (as MGET and HMGET answer), and
    /// hands each item's bytes to `item` as they arrive: nil for a missing key or an item that is not
    /// a string. The bytes are valid only while `item` runs.
    ///
    /// The items are found in hiredis' read buffer by `RedisArrayScanner`, with no reply object per
    /// item. Any other reply (an error, a wrong count) is read by hiredis and thrown.
    package func readArray(
        count: Int,
        of command: @autoclosure () -> String,
        item: (Int, UnsafeBufferPointer<UInt8>?) -> Void
    ) throws(RedisError) {
        try flush()
        let reader = context.pointee.reader!
        // Only between replies: hiredis may hold half of one it began to parse.
        if reader.pointee.ridx == -1, reader.pointee.reply == nil {
            var header = RedisArrayScanner.header(in: buffered(reader), at: reader.pointee.pos)
            while header == .incomplete {
                try readMore(reader)
                header = RedisArrayScanner.header(in: buffered(reader), at: reader.pointee.pos)
            }
            if case .array(count, let end) = header {
                reader.pointee.pos = end
                try scanItems(count, reader: reader, item: item)
                outstandingReplies -= 1
                return
            }
        }
        let reply = try readReply()
        if case .error(let message) = reply { throw RedisError(replying: message, context: command()) }
        guard let items = reply.array, items.count == count else {
            throw RedisError(.unexpectedReply, "\(command()) of \(count) keys returned \(reply.shape)")
        }
        for (index, value) in items.enumerated() {
            guard let bytes = value.bytes else {
                item(index, nil)
                continue
            }
            bytes.withUnsafeBufferPointer { item(index, $0) }
        }
    }

    private func scanItems(
        _ count: Int,
        reader: UnsafeMutablePointer<redisReader>,
        item: (Int, UnsafeBufferPointer<UInt8>?) -> Void
    ) throws(RedisError) {
        var index = 0
        while index < count {
            let bytes = buffered(reader)
            do throws(RedisError) {
                guard let (value, end) = try RedisArrayScanner.item(in: bytes, at: reader.pointee.pos) else {
                    try readMore(reader)
                    continue
                }
                item(index, value.map { UnsafeBufferPointer(rebasing: bytes[$0]) })
                reader.pointee.pos = end
                index += 1
            } catch {
                // Half a reply was taken from hiredis' buffer: the connection cannot be used again.
                context.pointee.err = REDIS_ERR_PROTOCOL
                throw error
            }
        }
    }

    /// What hiredis has read from the socket.
    private func buffered(_ reader: UnsafeMutablePointer<redisReader>) -> UnsafeBufferPointer<UInt8> {
        UnsafeRawPointer(reader.pointee.buf).map {
            UnsafeBufferPointer(start: $0.assumingMemoryBound(to: UInt8.self), count: reader.pointee.len)
        } ?? UnsafeBufferPointer(start: nil, count: 0)
    }

    /// Drops what was read already, as hiredis does, then waits for more bytes (bounded by the
    /// command timeout).
    private func readMore(_ reader: UnsafeMutablePointer<redisReader>) throws(RedisError) {
        if reader.pointee.pos >= 1024, let start = Int32(exactly: reader.pointee.pos) {
            sdsrange(reader.pointee.buf, start, -1)
            reader.pointee.pos = 0
            reader.pointee.len = sdslen(reader.pointee.buf)
        }
        guard redisBufferRead(context) == REDIS_OK else { throw lost() }
    }
}
