/// Why agents.yaml cannot be used, pointing at the file, line, column and key.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        public var description: String { name }

        public static let unreadable = Code(name: "unreadable")
        public static let syntax = Code(name: "syntax")
        public static let unknownKey = Code(name: "unknown-key")
        public static let duplicateKey = Code(name: "duplicate-key")
        public static let missingKey = Code(name: "missing-key")
        public static let wrongType = Code(name: "wrong-type")
        public static let invalidValue = Code(name: "invalid-value")
        public static let duplicateID = Code(name: "duplicate-id")
        public static let duplicateChannel = Code(name: "duplicate-channel")
        public static let ttlTooShort = Code(name: "ttl-too-short")
        /// A `*_env` key names a variable the environment does not set.
        public static let missingVariable = Code(name: "missing-variable")
    }

    public var code: Code
    public var file: String
    public var line: Int
    public var column: Int
    /// Where in the document, e.g. `agents[1].name`; empty for the file as a whole.
    public var keyPath: String
    public var message: String

    public init(code: Code, file: String, line: Int, column: Int, keyPath: String, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        let location = "\(file):\(line):\(column)"
        return keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}
