import AgentHeartbeatCore
import Testing

@Suite("LUKA_REDIS_URL")
struct RedisURLTests {
    @Test(arguments: [
        ("redis://127.0.0.1", RedisURL(host: "127.0.0.1")),
        ("redis://localhost:6380/2", RedisURL(host: "localhost", port: 6380, database: 2)),
        ("redis://:s3cret@10.0.0.1:7000", RedisURL(host: "10.0.0.1", port: 7000, password: "s3cret")),
        ("redis://bob:p%40ss:w@h/0", RedisURL(host: "h", username: "bob", password: "p@ss:w")),
        ("redis://[::1]:6390/1", RedisURL(host: "::1", port: 6390, database: 1)),
    ])
    func parses(text: String, expected: RedisURL) throws {
        #expect(try RedisURL(parsing: text) == expected)
    }

    @Test(arguments: [
        "http://127.0.0.1", "rediss://host", "redis://", "redis://host:0", "redis://host:99999", "redis://host:port",
        "redis://host/x", "redis://host/-1", "redis://password@host", "redis://[::1", "redis://:%zz@host",
    ])
    func refuses(text: String) {
        #expect(throws: RedisURL.ParseError.self) { try RedisURL(parsing: text) }
    }

    @Test func errorsAndDescriptionsNeverShowThePassword() throws {
        let url = try RedisURL(parsing: "redis://bob:hunter2@host:1/3")
        #expect(url.description == "redis://bob:***@host:1/3")
        #expect(!"\(url)".contains("hunter2"))
        #expect(!String(reflecting: url).contains("hunter2"))
        do {
            _ = try RedisURL(parsing: "redis://bob:hunter2@host:notaport")
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("hunter2"))
        }
    }
}

extension RedisURLTests {
    /// Found in issue 9: a password with "/" was cut at the slash and its first half quoted as the port.
    @Test func passwordWithSlashOrColonIsNeverQuoted() throws {
        let url = try RedisURL(parsing: "redis://:hunter2/Xy9z@127.0.0.1:6379")
        #expect(url.password == "hunter2/Xy9z")
        #expect(url.host == "127.0.0.1" && url.port == 6379 && url.database == 0)
        let withDatabase = try RedisURL(parsing: "redis://bob:a/b:c@host:6380/3")
        #expect(withDatabase.password == "a/b:c" && withDatabase.database == 3 && withDatabase.port == 6380)
        for text in [
            "redis://:hunter2/Xy9z@127.0.0.1:notaport", "redis://:hunter2/Xy9z@", "redis://:hunter2/Xy9z@h/x",
            "redis://:hunter2/Xy9z%zz@h", "redis://u:hunter2/Xy9z@h:99999",
        ] {
            do {
                _ = try RedisURL(parsing: text)
                Issue.record("expected an error for a broken URL")
            } catch {
                #expect(!error.description.contains("hunter2") && !error.description.contains("Xy9z"), "\(error)")
            }
        }
    }
}
