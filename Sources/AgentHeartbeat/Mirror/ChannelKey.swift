import AgentHeartbeatCore

/// A channel name as a dictionary key. A default channel (`agents:heartbeat:<id>`) is kept as the
/// agent's id, whose storage the configuration already holds, and a custom one as its bytes; a
/// lookup borrows the bytes inside hiredis' reply, so finding a message's agent allocates nothing.
/// Hashed and compared as the channel's bytes in one pass (an array of bytes hashes element by
/// element, which topped the subscriber's profile).
struct ChannelKey: Hashable {
    private enum Storage {
        case defaultChannel(id: String)
        case custom([UInt8])
        /// Valid only while the bytes are.
        case borrowed(UnsafeBufferPointer<UInt8>)
    }

    private static let defaultPrefix = Array(MonitorConfiguration.Agent.defaultChannel(for: "").utf8)
    private let storage: Storage

    init(_ agent: MonitorConfiguration.Agent) {
        storage = agent.hasDefaultChannel ? .defaultChannel(id: agent.id) : .custom(Array(agent.channel.utf8))
    }

    /// A default channel from the agent's id, or the custom channel's bytes.
    init(agentID: String, customBytes: [UInt8]?) {
        storage = customBytes.map { .custom($0) } ?? .defaultChannel(id: agentID)
    }

    /// The channel's bytes when it is not an agent's default one (a kept key: never a borrowed one).
    var customBytes: [UInt8]? {
        switch storage {
        case .custom(let bytes): bytes
        case .defaultChannel: nil
        case .borrowed: preconditionFailure("a borrowed channel is only looked up, never kept")
        }
    }

    /// Valid only while `bytes` is.
    init(borrowing bytes: UnsafeBufferPointer<UInt8>) {
        storage = .borrowed(bytes)
    }

    var bytes: [UInt8] { withBytes { first, second in Array(first) + Array(second) } }

    /// The channel's bytes in two parts (the second empty unless a default channel's id).
    private func withBytes<Result>(
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result
    ) -> Result {
        switch storage {
        case .borrowed(let bytes):
            return body(UnsafeRawBufferPointer(bytes), UnsafeRawBufferPointer(start: nil, count: 0))
        case .custom(let bytes):
            return bytes.withUnsafeBytes { body($0, UnsafeRawBufferPointer(start: nil, count: 0)) }
        case .defaultChannel(let id):
            var id = id
            return Self.defaultPrefix.withUnsafeBytes { prefix in
                id.withUTF8 { body(prefix, UnsafeRawBufferPointer($0)) }
            }
        }
    }

    static func == (lhs: ChannelKey, rhs: ChannelKey) -> Bool {
        lhs.withBytes { leftFirst, leftSecond in
            rhs.withBytes { rightFirst, rightSecond in
                let count = leftFirst.count + leftSecond.count
                guard count == rightFirst.count + rightSecond.count else { return false }
                for index in 0..<count {
                    let left = index < leftFirst.count ? leftFirst[index] : leftSecond[index - leftFirst.count]
                    let right = index < rightFirst.count ? rightFirst[index] : rightSecond[index - rightFirst.count]
                    if left != right { return false }
                }
                return true
            }
        }
    }

    /// The bytes as one stream: `Hasher` hashes two parts as it hashes them joined.
    func hash(into hasher: inout Hasher) {
        withBytes { first, second in
            hasher.combine(bytes: first)
            hasher.combine(bytes: second)
        }
    }
}
