/// A Redis Cluster redirection: `MOVED <slot> <host>:<port>` (the slot is served there from now
/// on) or `ASK <slot> <host>:<port>` (while the slot migrates: send this one command there, after
/// ASKING).
public struct ClusterRedirect: Sendable, Hashable {
    public enum Kind: Sendable {
        case moved
        case ask
    }

    public var kind: Kind
    public var slot: Int
    /// Empty when the node did not know its own address: the one it was reached at.
    public var host: String
    public var port: Int

    /// Reads the redirection in an error message, which may carry a context before it (`MGET…: MOVED …`).
    public init?(_ message: String) {
        let words = message.split(separator: " ")
        guard let index = words.firstIndex(where: { $0 == "MOVED" || $0 == "ASK" }), index + 2 < words.count,
            let slot = Int(words[index + 1]), let colon = words[index + 2].lastIndex(of: ":"),
            let port = Int(words[index + 2][colon...].dropFirst()), (1...65535).contains(port)
        else { return nil }
        kind = words[index] == "MOVED" ? .moved : .ask
        self.slot = slot
        host = String(words[index + 2][..<colon])
        self.port = port
    }
}
