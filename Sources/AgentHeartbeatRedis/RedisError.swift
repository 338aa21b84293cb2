/// A Redis failure. Messages never contain the password (hiredis' texts don't, and URLs are printed redacted).
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        public var description: String { name }

        /// Could not connect (refused, unreachable, timed out).
        public static let connectionFailed = Code(name: "connection-failed")
        /// The connection broke or timed out mid-command; it must be replaced.
        public static let connectionLost = Code(name: "connection-lost")
        /// AUTH or SELECT was refused.
        public static let setupFailed = Code(name: "setup-failed")
        /// The server answered with an error reply.
        public static let commandFailed = Code(name: "command-failed")
        /// The server is no longer where the data is (READONLY, MASTERDOWN, MOVED): find it again.
        public static let notMaster = Code(name: "not-master")
        /// The reply was not what the command promises.
        public static let unexpectedReply = Code(name: "unexpected-reply")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// An error reply: `.notMaster` when it says the server is no longer the master.
    public init(replying message: String, context: String? = nil) {
        self.init(
            Self.saysNotMaster(message) ? .notMaster : .commandFailed,
            context.map { "\($0): \(message)" } ?? message
        )
    }

    /// READONLY (a replica now, after a failover), MASTERDOWN (a replica that lost its master) or
    /// MOVED (a cluster slot now served elsewhere): the data is elsewhere, and a new connection finds it.
    public static func saysNotMaster(_ message: String) -> Bool {
        message.hasPrefix("READONLY") || message.hasPrefix("MASTERDOWN") || message.hasPrefix("MOVED")
    }

    /// Whether the connection that produced this error must be thrown away.
    public var breaksConnection: Bool { code == .connectionFailed || code == .connectionLost || code == .notMaster }

    public var description: String { message }
}
