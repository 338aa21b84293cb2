/// Where Redis is: `redis://[[user]:password@]host[:port][/db]`, as `LUKA_REDIS_URL` gives it.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int

    public static let `default` = RedisURL(host: "127.0.0.1", port: 6379)

    public init(host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Why a URL was refused. The message never contains the password.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { "invalid Redis URL: \(message)" }
    }

    public init(parsing text: String) throws(ParseError) {
        let parts = try RedisURLParts(text, scheme: "redis", form: "redis://[[user]:password@]host[:port][/db]")
        guard parts.hosts.count == 1, let (host, port) = parts.hosts.first else {
            throw ParseError(message: "one host expected; a list of hosts is for redis-sentinel://")
        }
        guard parts.path.count <= 1 else { throw ParseError(message: "expected /db after the host, found more") }
        self.init(
            host: host,
            port: port ?? 6379,
            username: parts.username,
            password: parts.password,
            database: try parts.database(at: 0)
        )
    }

    /// The URL with the password replaced, safe for logs and errors.
    public var description: String {
        let credentials = RedisURLParts.redactedCredentials(username, password)
        return "redis://\(credentials)\(RedisURLParts.authority(host, port))/\(database)"
    }

    public var debugDescription: String { description }
}

/// The parts every Redis URL shares: `scheme://[[user]:password@]host[:port][,host[:port]…][/path…]`.
struct RedisURLParts {
    var username: String?
    var password: String?
    var hosts: [(host: String, port: Int?)] = []
    var path: [Substring] = []

    typealias ParseError = RedisURL.ParseError

    init(_ text: String, scheme: String, form: String) throws(ParseError) {
        func fail(_ message: String) -> ParseError { ParseError(message: message) }
        if text.hasPrefix("rediss://") {
            throw fail(
                "rediss:// (TLS) is not supported: hiredis 0.14 has no TLS. Run a TLS-terminating proxy such"
                    + " as stunnel beside the sidecar and point LUKA_REDIS_URL at it (redis://127.0.0.1:PORT);"
                    + " see \"Redis over TLS\" in the README and container/stunnel/"
            )
        }
        guard text.hasPrefix("\(scheme)://") else {
            throw fail("expected \(form) (the schemes are redis:// and redis-sentinel://)")
        }
        var rest = Substring(text.dropFirst(scheme.count + 3))
        // Credentials first: a password may hold "/" or ":", and no message below may quote it.
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = userInfo.firstIndex(of: ":") else {
                throw fail("credentials must be written user:password@ or :password@")
            }
            let user = userInfo[..<colon]
            guard let decodedUser = Self.percentDecoded(user),
                let decodedPassword = Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            else { throw fail("bad percent-encoding in the credentials") }
            username = user.isEmpty ? nil : decodedUser
            password = decodedPassword
        }
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...].split(separator: "/", omittingEmptySubsequences: false)
            if path.last?.isEmpty == true { path.removeLast() }
            rest = rest[..<slash]
        }
        for authority in rest.split(separator: ",", omittingEmptySubsequences: false) {
            hosts.append(try Self.hostAndPort(authority))
        }
    }

    private static func hostAndPort(_ text: Substring) throws(ParseError) -> (host: String, port: Int?) {
        var host = text
        var port: Int?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw ParseError(message: "unclosed [ in IPv6 host") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw ParseError(message: "unexpected text after the IPv6 host") }
                port = try Self.port(after.dropFirst())
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            port = try Self.port(text[text.index(after: colon)...])
        }
        guard !host.isEmpty else { throw ParseError(message: "missing host") }
        return (String(host), port)
    }

    /// The database number in `path[index]`; 0 when absent.
    func database(at index: Int) throws(ParseError) -> Int {
        guard index < path.count else { return 0 }
        guard let database = Int(path[index]), database >= 0 else {
            throw ParseError(message: "database must be a number ≥ 0, found \"\(path[index])\"")
        }
        return database
    }

    private static func port(_ text: Substring) throws(ParseError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw ParseError(message: "port must be 1-65535, found \"\(text)\"")
        }
        return port
    }

    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func redactedCredentials(_ username: String?, _ password: String?) -> String {
        password == nil ? "" : "\(username ?? ""):***@"
    }

    static func authority(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
