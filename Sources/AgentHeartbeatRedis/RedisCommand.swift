import AgentHeartbeatCore

/// One Redis command as its arguments, binary-safe.
public struct RedisCommand: Sendable {
    public var arguments: [[UInt8]]

    public init(_ name: String, _ arguments: [[UInt8]] = []) {
        self.arguments = [Array(name.utf8)] + arguments
    }

    public init(_ name: String, _ arguments: String...) {
        self.init(name, arguments)
    }

    public init(_ name: String, _ arguments: [String]) {
        self.init(name, arguments.map { Array($0.utf8) })
    }

    /// The command in Redis' wire format (RESP), as `RedisConnection.appendEncoded` sends it.
    package var encoded: [UInt8] {
        var writer = RedisCommandWriter()
        writer.begin(arguments: arguments.count)
        for argument in arguments { writer.argument(argument) }
        return writer.bytes
    }
}

extension RedisCommand {
    public static let ping = RedisCommand("PING")
    public static let time = RedisCommand("TIME")
    package static let role = RedisCommand("ROLE")

    package static func sentinelMasterAddress(_ name: String) -> RedisCommand {
        RedisCommand("SENTINEL", "get-master-addr-by-name", name)
    }

    package static func auth(username: String?, password: String) -> RedisCommand {
        if let username { RedisCommand("AUTH", username, password) } else { RedisCommand("AUTH", password) }
    }

    package static func select(_ database: Int) -> RedisCommand { RedisCommand("SELECT", String(database)) }

    public static func publish(_ channel: String, _ message: [UInt8]) -> RedisCommand {
        RedisCommand("PUBLISH", [Array(channel.utf8), message])
    }

    public static func subscribe(_ channels: some Sequence<String>) -> RedisCommand {
        subscribe(channels.map { Array($0.utf8) })
    }

    package static func subscribe(_ channels: [[UInt8]]) -> RedisCommand { RedisCommand("SUBSCRIBE", channels) }

    package static func unsubscribe(_ channels: [[UInt8]]) -> RedisCommand { RedisCommand("UNSUBSCRIBE", channels) }

    /// Sharded pub/sub (Redis 7): the channels of one command must share a slot.
    package static func shardSubscribe(_ channels: [[UInt8]]) -> RedisCommand { RedisCommand("SSUBSCRIBE", channels) }

    package static func shardUnsubscribe(_ channels: [[UInt8]]) -> RedisCommand {
        RedisCommand("SUNSUBSCRIBE", channels)
    }

    package static func get(_ key: String) -> RedisCommand { RedisCommand("GET", key) }

    package static func pttl(_ key: String) -> RedisCommand { RedisCommand("PTTL", key) }

    /// `SET key value PX milliseconds`.
    package static func setExpiring(_ key: String, _ value: String, milliseconds: Int64) -> RedisCommand {
        RedisCommand("SET", key, value, "PX", String(max(1, milliseconds)))
    }

    package static func hdel(_ key: String, _ fields: [String]) -> RedisCommand { RedisCommand("HDEL", [key] + fields) }

    package static func hscan(_ key: String, cursor: String) -> RedisCommand {
        RedisCommand("HSCAN", key, cursor, "COUNT", "1000")
    }

    /// `SET key value NX PX milliseconds`: the leader lock.
    package static func setIfAbsent(_ key: String, _ value: String, milliseconds: String) -> RedisCommand {
        RedisCommand("SET", key, value, "NX", "PX", milliseconds)
    }

    /// `SET key value NX EX seconds`.
    package static func setIfAbsent(_ key: [UInt8], _ value: [UInt8], ttl seconds: [UInt8]) -> RedisCommand {
        RedisCommand("SET", [key, value, Array("NX".utf8), Array("EX".utf8), seconds])
    }

    package static func scriptLoad(_ script: RedisScript) -> RedisCommand {
        RedisCommand("SCRIPT", "LOAD", script.source)
    }

    package static func eval(_ script: RedisScript, keys: [String], arguments: [String]) -> RedisCommand {
        RedisCommand("EVAL", [script.source, String(keys.count)] + keys + arguments)
    }

    package static func evalSHA(_ sha: String, keys: [String], arguments: [[UInt8]]) -> RedisCommand {
        RedisCommand(
            "EVALSHA",
            [Array(sha.utf8), Array(String(keys.count).utf8)] + keys.map { Array($0.utf8) } + arguments
        )
    }
}

extension RedisCommandWriter {
    /// `MGET key...`: the heartbeat keys the checker reads, each `keyPrefix` + an agent id.
    package mutating func readHeartbeats(keyPrefix: [UInt8], ids: [String]) {
        begin(arguments: 1 + ids.count)
        argument("MGET")
        for id in ids { argument(keyPrefix, id) }
    }

    /// `HMGET <prefix>:alerts id...`: what was last told about these agents.
    package mutating func readAlertRecords(_ key: String, ids: [String]) {
        begin(arguments: 2 + ids.count)
        argument("HMGET")
        argument(key)
        for id in ids { argument(id) }
    }
}

extension RedisReply {
    /// TIME's reply as milliseconds since 1970 on the server's clock.
    package func serverMilliseconds() throws(RedisError) -> Int64 {
        guard let parts = array, parts.count == 2, let seconds = parts[0].integer, let micros = parts[1].integer else {
            throw RedisError(.unexpectedReply, "TIME returned \(shape)")
        }
        return seconds * 1000 + micros / 1000
    }
}
