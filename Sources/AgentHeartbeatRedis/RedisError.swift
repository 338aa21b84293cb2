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
        /// The reply was not what the command promises.
        public static let unexpectedReply = Code(name: "unexpected-reply")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Whether the connection that produced this error must be thrown away.
    public var breaksConnection: Bool { code == .connectionFailed || code == .connectionLost }

    public var description: String { message }
}
