import AgentHeartbeat
import AgentHeartbeatCore

/// Scoped fixtures: each runs `body` with a resource and tears it down however `body` ends, a
/// failed expectation or a thrown error included (`defer` cannot await).
func withCleanup<Resource, Result>(
    _ resource: Resource,
    cleanUp: (Resource) async -> Void,
    _ body: (Resource) async throws -> Result
) async throws -> Result {
    let result: Result
    do {
        result = try await body(resource)
    } catch {
        await cleanUp(resource)
        throw error
    }
    await cleanUp(resource)
    return result
}

/// A client of the test command's Redis; afterwards the keys of `configuration` are removed.
func withTestRedis<Result>(
    removingKeysOf configuration: MonitorConfiguration? = nil,
    _ body: (RedisClient) async throws -> Result
) async throws -> Result {
    let cleanUp: (RedisClient) async -> Void = { redis in
        if let configuration { try? await redis.removeKeys(of: configuration) }
        await redis.close()
    }
    return try await withCleanup(try TestRedis.client(), cleanUp: cleanUp, body)
}

/// A redis-server of the test's own, stopped afterwards.
func withRedisServer<Result>(
    _ arguments: [String] = [],
    _ body: (RedisServer) async throws -> Result
) async throws -> Result {
    try await withCleanup(try await RedisServer.start(arguments), cleanUp: { await $0.stop() }, body)
}

/// `client`, closed afterwards.
func withClosing<Result>(_ client: RedisClient, _ body: (RedisClient) async throws -> Result) async throws -> Result {
    try await withCleanup(client, cleanUp: { await $0.close() }, body)
}

extension RedisServer {
    /// A client of this server, closed afterwards.
    func withClient<Result>(_ body: (RedisClient) async throws -> Result) async throws -> Result {
        try await withClosing(client(), body)
    }
}
