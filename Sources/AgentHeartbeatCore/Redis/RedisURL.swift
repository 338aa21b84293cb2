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
        func fail(_ message: String) -> ParseError { ParseError(message: message) }
        guard text.hasPrefix("redis://") else {
            throw fail(
                "expected redis://[[user]:password@]host[:port][/db]"
                    + " (only the redis:// scheme is supported; hiredis 0.14 has no TLS)"
            )
        }
        var rest = Substring(text.dropFirst("redis://".count))
        var username: String?
        var password: String?
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
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var host = rest
        var port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw fail("unclosed [ in IPv6 host") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected text after the IPv6 host") }
                port = try Self.port(after.dropFirst())
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            port = try Self.port(rest[rest.index(after: colon)...])
        }
        guard !host.isEmpty else { throw fail("missing host") }
        var database = 0
        if !path.isEmpty {
            guard let db = Int(path), db >= 0 else { throw fail("database must be a number ≥ 0, found \"\(path)\"") }
            database = db
        }
        self.init(host: String(host), port: port, username: username, password: password, database: database)
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

    /// The URL with the password replaced, safe for logs and errors.
    public var description: String {
        var credentials = ""
        if password != nil { credentials = "\(username ?? ""):***@" }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "redis://\(credentials)\(hostPart):\(port)/\(database)"
    }

    public var debugDescription: String { description }
}
