/// One receiver of notifications from agents.yaml's `notifiers`. It holds no secret: only the names
/// of the environment variables that hold them (`*_env`), with where they were named, so that a
/// missing variable is reported at its line.
public struct NotifierConfiguration: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case telegram, slack, discord, pagerduty, webhook, email
    }

    /// An environment variable agents.yaml names, and where.
    public struct Variable: Sendable, Hashable {
        public var name: String
        /// `notifiers[2].url_env`
        public var keyPath: String
        public var line: Int
        public var column: Int

        public init(name: String, keyPath: String, line: Int = 0, column: Int = 0) {
            self.name = name
            self.keyPath = keyPath
            self.line = line
            self.column = column
        }

        /// The error when the environment does not set it: its name and where, never a value.
        public func missing(in file: String, for user: String) -> ConfigurationError {
            ConfigurationError(
                code: .missingVariable,
                file: file,
                line: line,
                column: column,
                keyPath: keyPath,
                message: "environment variable \(name) is not set (\(user))"
            )
        }
    }

    /// Which secret or address a variable holds.
    public enum Role: String, Sendable, Hashable {
        case token
        case chatID = "chat_id"
        case url
        case routingKey = "routing_key"
        case secret, username, password
    }

    public var name: String
    public var kind: Kind
    public var variables: [Role: Variable]
    /// Email only: the sender and the recipients.
    public var from: String?
    public var to: [String] = []
    /// Bounds one delivery attempt.
    public var timeout: Duration = .seconds(10)
    /// A notification still undelivered after this long is dropped (counted and logged).
    public var maximumAge: Duration = .seconds(86_400)

    public init(name: String, kind: Kind, variables: [Role: Variable] = [:]) {
        self.name = name
        self.kind = kind
        self.variables = variables
    }

    /// The receiver used without a `notifiers` section: Telegram from the environment, as before.
    public static let implicitTelegram = NotifierConfiguration(
        name: "telegram",
        kind: .telegram,
        variables: [
            .token: Variable(name: "TELEGRAM_BOT_TOKEN", keyPath: "TELEGRAM_BOT_TOKEN"),
            .chatID: Variable(name: "TELEGRAM_CHAT_ID", keyPath: "TELEGRAM_CHAT_ID"),
        ]
    )

    /// Keys each kind takes beyond `name`, `type`, `timeout_seconds` and `max_age_seconds`;
    /// the roles marked required must be named.
    static func keys(of kind: Kind) -> (optional: [Role], required: [Role], other: [String]) {
        switch kind {
        case .telegram: ([.token, .chatID], [], [])
        case .slack, .discord: ([], [.url], [])
        case .pagerduty: ([], [.routingKey], [])
        case .webhook: ([.secret], [.url], [])
        case .email: ([.username, .password], [.url], ["from", "to"])
        }
    }

    /// Telegram's defaults when `token_env` or `chat_id_env` is left out.
    static func defaultVariable(_ role: Role) -> String? {
        switch role {
        case .token: "TELEGRAM_BOT_TOKEN"
        case .chatID: "TELEGRAM_CHAT_ID"
        default: nil
        }
    }
}
