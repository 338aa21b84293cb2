/// An agent's last heartbeat as its Redis key holds it (see README, "Redis key contract").
public struct HeartbeatRecord: Sendable, Equatable {
    /// When the heartbeat arrived, in milliseconds since 1970 on the Redis server's clock.
    public var receivedAt: Int64
    /// The payload as published; nil when it was rejected (too large).
    public var payload: [UInt8]?
    /// Why the payload could not be read, as the mirror recorded it.
    public var error: String?

    public init(receivedAt: Int64, payload: [UInt8]? = nil, error: String? = nil) {
        self.receivedAt = receivedAt
        self.payload = payload
        self.error = error
    }

    /// Hash field names of the key contract.
    public enum Field {
        public static let receivedAt = "received_at_ms"
        public static let payload = "payload"
        public static let error = "error"
    }
}
