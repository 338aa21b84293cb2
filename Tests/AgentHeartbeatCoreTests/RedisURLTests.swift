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

@Suite("LUKA_REDIS_URL for Sentinel")
struct SentinelURLTests {
    @Test func parsesSentinelsMasterNameAndDatabase() throws {
        let url = try SentinelURL(
            parsing: "redis-sentinel://:s3cret@10.0.0.1:26380,sentinel-b,[::1]:26390/mymaster/2",
            sentinelPassword: "other"
        )
        #expect(
            url
                == SentinelURL(
                    sentinels: [
                        .init(host: "10.0.0.1", port: 26380), .init(host: "sentinel-b", port: 26379),
                        .init(host: "::1", port: 26390),
                    ],
                    masterName: "mymaster",
                    password: "s3cret",
                    database: 2,
                    sentinelPassword: "other"
                )
        )
        #expect(
            url.node(.init(host: "10.0.0.9", port: 6379)) == RedisURL(host: "10.0.0.9", password: "s3cret", database: 2)
        )
        #expect(url.sentinel(url.sentinels[0]) == RedisURL(host: "10.0.0.1", port: 26380, password: "other"))
        #expect(url.description == "redis-sentinel://:***@10.0.0.1:26380,sentinel-b:26379,[::1]:26390/mymaster/2")
        #expect(!String(reflecting: RedisEndpoint.sentinel(url)).contains("s3cret"))
    }

    @Test func endpointFollowsTheScheme() throws {
        #expect(try RedisEndpoint(parsing: "redis://h:1") == .server(RedisURL(host: "h", port: 1)))
        let cluster = try RedisEndpoint(parsing: "redis://:hunter2@h1:7000,h2")
        #expect(
            cluster
                == .cluster([
                    RedisURL(host: "h1", port: 7000, password: "hunter2"), RedisURL(host: "h2", password: "hunter2"),
                ])
        )
        #expect(cluster.description == "redis://:***@h1:7000,h2:6379/0")
        guard case .sentinel(let url) = try RedisEndpoint(parsing: "redis-sentinel://h/m") else {
            Issue.record("expected Sentinel")
            return
        }
        #expect(url.sentinels == [.init(host: "h", port: 26379)] && url.masterName == "m" && url.database == 0)
    }

    @Test(arguments: [
        "redis-sentinel://h", "redis-sentinel://h/", "redis-sentinel://h/m/x", "redis-sentinel://h/m/1/2",
        "redis-sentinel://h,/m", "redis-sentinel://h:0/m", "redis://h1,h2/1", "redis://h/1/2",
    ])
    func refuses(text: String) {
        #expect(throws: RedisURL.ParseError.self) { try RedisEndpoint(parsing: text) }
    }

    @Test func tlsIsRefusedWithTheWayAround() {
        for text in ["rediss://:hunter2@h:6380", "rediss://h"] {
            do {
                _ = try RedisEndpoint(parsing: text)
                Issue.record("expected an error")
            } catch {
                #expect(error.description.contains("hiredis 0.14 has no TLS"))
                #expect(error.description.contains("stunnel"))
                #expect(!error.description.contains("hunter2"))
            }
        }
    }

    @Test func switchMasterEvent() {
        #expect(
            SentinelSwitch(payload: Array("mymaster 10.0.0.1 6379 10.0.0.2 6380".utf8))
                == SentinelSwitch(
                    masterName: "mymaster",
                    old: .init(host: "10.0.0.1", port: 6379),
                    new: .init(host: "10.0.0.2", port: 6380)
                )
        )
        #expect(SentinelSwitch(payload: Array("mymaster 10.0.0.1 6379".utf8)) == nil)
        #expect(SentinelSwitch(payload: Array("m a x b 1".utf8)) == nil)
    }
}

@Suite("Hash tags")
struct HashTagTests {
    @Test func theFirstBracedPartDecides() {
        func tag(_ text: String) -> String? { HashTag.of(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) } }
        #expect(tag("{agents}:last:mary") == "agents")
        #expect(tag("x{a}{b}") == "a")
        #expect(tag("{}{a}") == nil)  // empty: the whole name counts, as in Redis
        #expect(tag("no{tag") == nil && tag("agents:heartbeat:mary") == nil)
        let configuration = MonitorConfiguration()
        #expect(configuration.isSharded(channel: Array("{agents}:heartbeat:mary".utf8)))
        #expect(!configuration.isSharded(channel: Array("agents:heartbeat:mary".utf8)))
        #expect(!configuration.isSharded(channel: Array("{other}:heartbeat:mary".utf8)))
    }
}
