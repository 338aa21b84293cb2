import AgentHeartbeatCore
internal import CHiredis
internal import CHiredisLimits

#if canImport(Glibc)
import Glibc
#endif

/// One blocking hiredis connection. Not thread-safe: it is used only on the thread that made it,
/// one of a `JobThread`'s (never Swift's cooperative pool; asserted in debug builds), and freed
/// when released.
public final class RedisConnection {
    let context: UnsafeMutablePointer<redisContext>
    private let owner = pthread_self()
    /// `waitForData`'s reads, made on first use (subscribers only).
    private var readBuffer: UnsafeMutableRawBufferPointer?
    /// Whether the last `waitForData` left the socket empty: nothing arrived, or its read took less
    /// than it could. Then whatever the socket holds now arrived after that read.
    public private(set) var emptiedSocket = true
    /// Bytes one read takes at most, as hiredis' own reads.
    static let readSize = 16 * 1024
    /// Replies owed for commands sent but not yet read. A connection with replies outstanding
    /// after its user is done (an error cut a pipeline short) is out of step: the next reply read
    /// would belong to an earlier command, so `RedisClient` drops it.
    public internal(set) var outstandingReplies = 0
    /// `RedisConnector.generation` when this connection was made.
    var masterGeneration = 0

    /// Connects, then sends AUTH and SELECT as the URL asks.
    /// `commandTimeout` bounds every blocking read and write; a timed-out connection is broken.
    public init(
        url: RedisURL,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5)
    ) throws(RedisError) {
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), timeval(connectTimeout)) else {
            throw RedisError(.connectionFailed, "cannot connect to \(url): out of memory")
        }
        guard context.pointee.err == 0 else {
            let reason = Self.errorText(context)
            redisFree(context)
            throw RedisError(.connectionFailed, "cannot connect to \(url): \(reason)")
        }
        // From here on a throw runs deinit, which frees the context.
        self.context = context
        redisSetTimeout(context, timeval(commandTimeout))
        redisEnableKeepAlive(context)
        chiredis_limit_arrays(context.pointee.reader)
        if let password = url.password {
            if case .error(let message) = try send(.auth(username: url.username, password: password)) {
                throw RedisError(.setupFailed, "authentication to \(url) failed: \(message)")
            }
        }
        if url.database != 0, case .error(let message) = try send(.select(url.database)) {
            throw RedisError(.setupFailed, "SELECT \(url.database) on \(url) failed: \(message)")
        }
    }

    deinit {
        redisFree(context)
        readBuffer?.deallocate()
    }

    /// Sends one command and returns its reply, error replies included.
    public func send(_ command: RedisCommand) throws(RedisError) -> RedisReply {
        try append(command)
        return try readReply()
    }

    /// Sends one command; an error reply throws.
    @discardableResult
    public func call(_ command: RedisCommand) throws(RedisError) -> RedisReply {
        let reply = try send(command)
        if case .error(let message) = reply { throw RedisError(replying: message) }
        return reply
    }

    /// Sends all commands in one write and reads all replies: one round trip.
    public func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        for command in commands { try append(command) }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply()) }
        return replies
    }

    /// Queues a command in hiredis' output buffer; `readReply` or `flush` sends it.
    public func append(_ command: RedisCommand) throws(RedisError) {
        try appendEncoded(command.encoded, commands: 1)
    }

    /// Queues `commands` commands already in the wire format (`RedisCommand.encoded`), as they are.
    public func appendEncoded(_ bytes: [UInt8], commands: Int) throws(RedisError) {
        assertOwned()
        let status = bytes.withUnsafeBytes { buffer in
            redisAppendFormattedCommand(context, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count)
        }
        guard status == REDIS_OK else { throw RedisError(.connectionLost, Self.errorText(context)) }
        outstandingReplies += commands
    }

    /// Writes everything queued by `append`.
    public func flush() throws(RedisError) {
        assertOwned()
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw lost() }
        }
    }

    /// Blocks until the next reply arrives (bounded by the command timeout).
    public func readReply() throws(RedisError) -> RedisReply {
        assertOwned()
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw lost() }
        defer { freeReplyObject(raw) }
        outstandingReplies -= 1
        return RedisReply(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Waits up to `timeout` for bytes from the server and reads them (one read, at most 16 KiB)
    /// into hiredis' buffer. Returns false when nothing arrived. Used in subscribe mode, where
    /// replies come unasked. Read here, not by `redisBufferRead`, to tell `emptiedSocket`.
    public func waitForData(timeout: Duration) throws(RedisError) -> Bool {
        assertOwned()
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(timeout.wholeMilliseconds))
        if ready == 0 || (ready < 0 && errno == EINTR) {
            emptiedSocket = ready == 0
            return false
        }
        guard ready > 0 else { throw lost() }
        let buffer = readBuffer ?? .allocate(byteCount: Self.readSize, alignment: 1)
        readBuffer = buffer
        let count = read(context.pointee.fd, buffer.baseAddress, buffer.count)
        if count < 0 && (errno == EINTR || errno == EAGAIN) {
            emptiedSocket = false
            return false
        }
        guard count > 0 else {
            let reason = count == 0 ? "Server closed the connection" : String(cString: strerror(errno))
            throw RedisError(.connectionLost, "connection to Redis lost: \(reason)")
        }
        let bytes = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
        guard redisReaderFeed(context.pointee.reader, bytes, count) == REDIS_OK else {
            throw RedisError(.connectionLost, "protocol error from Redis")
        }
        emptiedSocket = count < buffer.count
        return true
    }

    /// Hands every complete push already in hiredis' buffer to `handle`, in order, without
    /// touching the socket or copying. An error reply throws; other replies are skipped.
    package func drainBufferedPushes(_ handle: (borrowing RedisPush) -> Void) throws(RedisError) {
        assertOwned()
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(context.pointee.reader, &raw) == REDIS_OK else {
                throw RedisError(.connectionLost, "protocol error from Redis")
            }
            guard let raw else { return }
            defer { freeReplyObject(raw) }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            if let push = RedisPush(reply) {
                handle(push)
            } else if reply.pointee.type == REDIS_REPLY_ERROR {
                // A refused SUBSCRIBE (BUSY, NOPERM, LOADING…): the caller reconnects and resubscribes.
                throw RedisError(.commandFailed, "Redis refused a subscription: \(RedisReply(reply).shape)")
            }
        }
    }

    /// Every field name of a hash, read with HSCAN so that a large hash never blocks Redis.
    public func hashFields(_ key: String) throws(RedisError) -> [String] {
        var fields: [String] = []
        var cursor = "0"
        repeat {
            guard let parts = try call(.hscan(key, cursor: cursor)).array, parts.count == 2,
                let next = parts[0].text, let items = parts[1].array
            else { throw RedisError(.unexpectedReply, "HSCAN returned an unexpected reply") }
            for index in stride(from: 0, to: items.count, by: 2) { items[index].text.map { fields.append($0) } }
            cursor = next
        } while cursor != "0"
        return fields
    }

    func assertOwned() {
        assert(pthread_equal(owner, pthread_self()) != 0, "a Redis connection used off the thread that made it")
    }

    func lost() -> RedisError {
        RedisError(.connectionLost, "connection to Redis lost: \(Self.errorText(context))")
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            let text = String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            return text.isEmpty ? "connection closed" : text
        }
    }
}

extension timeval {
    init(_ duration: Duration) {
        let micros = duration.wholeMilliseconds * 1000
        self.init(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
    }
}
