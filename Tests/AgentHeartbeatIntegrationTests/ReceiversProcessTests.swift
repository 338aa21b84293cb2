import AgentHeartbeat
import AgentHeartbeatCore
import Foundation
import Testing

/// `run` replicas delivering to every kind of receiver at once: local HTTP servers standing in for
/// Telegram, Slack, Discord, PagerDuty and webhooks, and a real SMTP server (aiosmtpd).
@Suite("Receivers across replicas", .serialized)
struct ReceiversProcessTests {
    static let secret = "hook-SECRET-never-print-me"
    static let routingKey = "pd-SECRET-routing-key"

    /// Local receivers, one per notifier, and the environment that points the sidecar at them.
    struct Receivers {
        var http: [String: FakeReceiver] = [:]
        let mail: SMTPSink
        var environment: [String: String] = [:]
        var notifiers: [NotifierConfiguration] = []

        init(_ kinds: [(name: String, kind: NotifierConfiguration.Kind)]) throws {
            mail = try SMTPSink()
            for (name, kind) in kinds {
                let variable = name.uppercased().replacingOccurrences(of: "-", with: "_")
                var notifier = NotifierConfiguration(name: name, kind: kind)
                notifier.timeout = .seconds(2)
                func named(_ role: NotifierConfiguration.Role, _ suffix: String, _ value: String) {
                    notifier.variables[role] = .init(name: "\(variable)_\(suffix)", keyPath: "")
                    environment["\(variable)_\(suffix)"] = value
                }
                if kind == .email {
                    named(.url, "URL", mail.url)
                    notifier.from = "heartbeat@example.com"
                    notifier.to = ["ops@example.com", "oncall@example.com"]
                } else {
                    let receiver = try FakeReceiver()
                    http[name] = receiver
                    switch kind {
                    case .telegram:
                        named(.token, "TOKEN", "123:tg-SECRET")
                        named(.chatID, "CHAT", "42")
                        environment["TELEGRAM_API_URL"] = receiver.url
                    case .pagerduty:
                        named(.routingKey, "KEY", ReceiversProcessTests.routingKey)
                        environment["PAGERDUTY_API_URL"] = receiver.url
                    case .webhook:
                        named(.url, "URL", receiver.url + "/hooks/\(name)-SECRET-path")
                        named(.secret, "SECRET", ReceiversProcessTests.secret)
                    default:
                        named(.url, "URL", receiver.url + "/services/\(name)-SECRET-path")
                    }
                }
                notifiers.append(notifier)
            }
        }

        subscript(_ name: String) -> FakeReceiver { http[name]! }

        func stop() {
            for receiver in http.values { receiver.stop() }
            mail.stop()
        }
    }

    /// A receiver's JSON body, decoded.
    static func json(_ request: FakeReceiver.Request) -> [String: Any] { request.json }

    @Test func healthyReceiversGetEachEventOnceWhateverTheOthersAndTheLeaderDo() async throws {
        let receivers = try Receivers([
            ("slack", .slack), ("discord", .discord), ("pager", .pagerduty), ("hook", .webhook),
            ("mail", .email), ("flaky", .webhook), ("stuck", .webhook), ("refusing", .telegram),
        ])
        var configuration = AlertingProcessTests.configuration(["mary", "bob"], cooldown: .seconds(3600))
        configuration.notifiers = receivers.notifiers
        let redis = try TestRedis.client()
        let replicas = try (0..<3).map { _ in
            try SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)", environment: receivers.environment)
        }
        try await redis.waitForSubscribers(configuration.agents[1].channel, count: 3)
        var beating = AlertingProcessTests.beat(redis, configuration.agents)
        for replica in replicas { try await eventually("online everywhere") { replica.status(of: "mary") == "online" } }

        receivers["flaky"].fail(for: .seconds(60), with: .serverError)
        receivers["stuck"].hang(true)
        receivers["refusing"].refuse(containing: "chat_id")
        let healthy = ["slack", "discord", "pager", "hook"]
        beating.cancel()
        beating = AlertingProcessTests.beat(redis, [configuration.agents[1]])
        try await eventually("the healthy receivers have the alert") {
            healthy.allSatisfy { receivers[$0].delivered.count == 1 } && receivers.mail.messages.count == 1
        }
        let alerted = ContinuousClock.now
        #expect(receivers["flaky"].delivered.isEmpty && receivers["stuck"].delivered.isEmpty)
        let failingSince = try #require(receivers["flaky"].requests.first?.at)
        #expect(alerted - failingSince < .seconds(10), "a failing and a hanging receiver delay nobody")

        // The leader dies; the queues (flaky, stuck) stay in Redis for the next one.
        let leader = try #require(replicas.first { $0.output.contains("became the leader") })
        leader.signal(SIGKILL)
        _ = try await leader.exitStatus(within: .seconds(5))
        let others = replicas.filter { $0 !== leader }
        try await eventually("a new leader") { others.contains { $0.output.contains("became the leader") } }

        beating.cancel()
        beating = AlertingProcessTests.beat(redis, configuration.agents)
        // A new leader's first checks under ThreadSanitizer, beside the other suites, took over 20 s.
        try await eventually("the healthy receivers have the recovery", timeout: .seconds(60)) {
            healthy.allSatisfy { receivers[$0].delivered.count == 2 } && receivers.mail.messages.count == 2
        }
        receivers["stuck"].hang(false)
        try await eventually("the flaky and the stuck receivers catch up once well", timeout: .seconds(120)) {
            receivers["flaky"].delivered.count == 2 && receivers["stuck"].delivered.count == 2
        }
        try await AlertingProcessTests.waitCycles(others)
        beating.cancel()

        // Exactly one alert and one recovery everywhere, in order.
        for name in healthy + ["flaky", "stuck"] {
            let delivered = receivers[name].delivered
            #expect(delivered.count == 2, "\(name): \(delivered.map(\.body))")
        }
        #expect(receivers.mail.messages.count == 2)
        let slack = receivers["slack"].delivered.map { Self.json($0)["text"] as? String ?? "" }
        #expect(slack[0].hasPrefix("🔴 *Agent offline*") && slack[0].contains("*Mary* (`mary`)"), "\(slack)")
        #expect(slack[1].hasPrefix("🟢 *Agent recovered*"))
        let discord = receivers["discord"].delivered.map(Self.json)
        #expect((discord[0]["content"] as? String)?.hasPrefix("🔴 **Agent offline**") == true)
        #expect((discord[0]["allowed_mentions"] as? [String: Any])?["parse"] as? [String] == [])
        let pager = receivers["pager"].delivered
        #expect(pager.allSatisfy { $0.path == "/v2/enqueue" })
        let events = pager.map(Self.json)
        #expect(events.map { $0["event_action"] as? String } == ["trigger", "resolve"])
        #expect(events.allSatisfy { $0["routing_key"] as? String == Self.routingKey })
        #expect(events[0]["dedup_key"] as? String == events[1]["dedup_key"] as? String)
        let payload = events[0]["payload"] as? [String: Any] ?? [:]
        #expect(payload["severity"] as? String == "critical")
        #expect((payload["summary"] as? String)?.hasPrefix("Agent offline: Mary (mary)") == true)
        for request in receivers["hook"].delivered + receivers["flaky"].delivered {
            let event = Self.json(request)
            #expect(event["version"] as? Int == 1)
            #expect(request.headers["x-agent-heartbeat-event"] == event["id"] as? String)
            let signature = hmacSHA256(key: Array(Self.secret.utf8), message: Array(request.body.utf8))
            #expect(request.headers["x-agent-heartbeat-signature"] == "sha256=" + hexDigest(signature))
        }
        let hooks = receivers["hook"].delivered.map(Self.json)
        #expect(hooks.map { $0["kind"] as? String } == ["alert", "recovery"])
        #expect((hooks[0]["agent"] as? [String: Any])?["id"] as? String == "mary")
        // The same event has the same id at every webhook, whenever each got it.
        #expect(
            hooks.map { $0["id"] as? String } == receivers["flaky"].delivered.map { Self.json($0)["id"] as? String }
        )
        let mail = receivers.mail.messages
        #expect(mail[0].subject == "[agent-heartbeat] Agent offline: Mary (mary)")
        #expect(mail[0].recipients == ["ops@example.com", "oncall@example.com"])
        #expect(mail[0].mailFrom == "heartbeat@example.com")
        #expect(mail[0].body.contains("Status: offline"))
        #expect(mail[1].subject == "[agent-heartbeat] Recovered: Mary (mary)")

        // The refusing receiver was asked once per message, never again; its queue is empty.
        #expect(receivers["refusing"].requests.count == 2)
        #expect(try await redis.send("LLEN", configuration.queueKey(notifier: "refusing")) == .integer(0))
        let newLeader = try #require(others.first { $0.output.contains("became the leader") })
        var metrics: [String: Double] = [:]
        try await eventually("the stuck receiver's queue is counted empty") {
            metrics = try await parsedMetrics(newLeader)
            return metrics[#"agent_heartbeat_notifications_queued{notifier="stuck"}"#] == 0
        }
        // The killed leader's counts died with it: the new one dropped at least the recovery.
        #expect(
            (metrics[#"agent_heartbeat_notifications_dropped_total{notifier="refusing",reason="refused"}"#] ?? 0) >= 1
        )
        #expect((metrics[#"agent_heartbeat_notifications_retried_total{notifier="flaky"}"#] ?? 0) >= 1)
        #expect((metrics[#"agent_heartbeat_notifications_sent_total{notifier="stuck"}"#] ?? 0) >= 1)
        for replica in replicas {
            for secret in ["SECRET", Self.routingKey] { #expect(!replica.output.contains(secret), "\(replica.output)") }
        }
        receivers.stop()
        try await AlertingProcessTests.finish(replicas, redis, configuration)
    }

    @Test func testAlertSaysWhatHappenedAtEachReceiverAndValidateNamesMissingVariables() async throws {
        let receivers = try Receivers([
            ("slack", .slack), ("pager", .pagerduty), ("hook", .webhook), ("mail", .email), ("broken", .discord),
        ])
        defer { receivers.stop() }
        receivers["broken"].script(.unauthorized)
        var configuration = MonitorConfiguration(agents: [.init(id: "mary", name: "Mary")])
        configuration.notifiers = receivers.notifiers
        let folder = try SidecarProcess.folder(config: configuration.yaml)

        let all = try SidecarProcess(["test-alert"], folder: folder, redisURL: nil, environment: receivers.environment)
        #expect(try await all.exitStatus(within: .seconds(20)) == 1, "one receiver failed")
        for line in [
            "slack (slack): delivered", "pager (pagerduty): delivered", "hook (webhook): delivered",
            "mail (email): delivered", "broken (discord): not delivered: HTTP 401",
        ] {
            #expect(all.output.contains(line), "\(all.output)")
        }
        let pager = receivers["pager"].delivered.map(Self.json)
        #expect(pager.map { $0["event_action"] as? String } == ["trigger", "resolve"], "a test incident, resolved")
        let hook = try #require(receivers["hook"].delivered.first)
        #expect(Self.json(hook)["kind"] as? String == "test")
        let signature = hmacSHA256(key: Array(Self.secret.utf8), message: Array(hook.body.utf8))
        #expect(hook.headers["x-agent-heartbeat-signature"] == "sha256=" + hexDigest(signature))
        #expect(receivers.mail.messages.map(\.subject) == ["[agent-heartbeat] test message"])

        let one = try SidecarProcess(
            ["test-alert", "--notifier", "slack"],
            folder: folder,
            redisURL: nil,
            environment: receivers.environment
        )
        #expect(try await one.exitStatus(within: .seconds(20)) == 0)
        #expect(receivers["slack"].delivered.count == 2 && receivers["pager"].delivered.count == 2)
        let unknown = try SidecarProcess(
            ["test-alert", "--notifier", "nope"],
            folder: folder,
            redisURL: nil,
            environment: receivers.environment
        )
        #expect(try await unknown.exitStatus(within: .seconds(20)) == 1)
        #expect(unknown.output.contains("no receiver is named \"nope\""))

        // Without the secrets in the environment: refused at start-up, naming the variable and its line.
        var partial = receivers.environment
        partial["SLACK_URL"] = nil
        let validate = try SidecarProcess(["validate"], folder: folder, redisURL: nil, environment: partial)
        #expect(try await validate.exitStatus(within: .seconds(20)) == 2)
        #expect(validate.output.contains("notifiers[0].url_env: environment variable SLACK_URL is not set"))
        let run = try SidecarProcess(["run"], folder: folder, redisURL: "\(TestRedis.url)", environment: partial)
        #expect(try await run.exitStatus(within: .seconds(20)) == 2)
        #expect(run.output.contains("SLACK_URL is not set"), "\(run.output)")
        let skipping = try SidecarProcess(["validate", "--skip-environment"], folder: folder, redisURL: nil)
        #expect(try await skipping.exitStatus(within: .seconds(20)) == 0)
        #expect(skipping.output.contains("5 notifiers"), "\(skipping.output)")
        for process in [all, one, unknown, validate, run, skipping] {
            for secret in ["SECRET", Self.routingKey] { #expect(!process.output.contains(secret), "\(process.output)") }
        }
    }

    @Test func hostileTextArrivesIntactOrCleanlyCutEverywhere() async throws {
        // Every format's metacharacters, mentions, a link, non-ASCII, and 5,000 characters in all.
        let hostile =
            #"*_~`|>#-[x](http://e.vil) <@&1> @everyone <!channel> & \ :smile: ![i](j) Grüße 🚀 "#
            + String(repeating: "é", count: 5000)
        let receivers = try Receivers([
            ("tg", .telegram), ("slack", .slack), ("discord", .discord), ("pager", .pagerduty), ("hook", .webhook),
            ("mail", .email),
        ])
        defer { receivers.stop() }
        var configuration = AlertingProcessTests.configuration(
            ["odd"],
            cooldown: .seconds(600),
            names: ["odd": hostile]
        )
        configuration.notifiers = receivers.notifiers
        let redis = try TestRedis.client()
        try await storeHeartbeat(redis, configuration, "odd", age: .seconds(10))
        let replicas = try [
            SidecarProcess.running(configuration, redisURL: "\(TestRedis.url)", environment: receivers.environment)
        ]
        try await eventually("every receiver has the alert") {
            ["tg", "slack", "discord", "pager", "hook"].allSatisfy { receivers[$0].delivered.count == 1 }
                && receivers.mail.messages.count == 1
        }
        let cut = String(hostile.unicodeScalars.prefix(100).map(Character.init))
        let telegram = Self.json(receivers["tg"].delivered[0])["text"] as? String ?? ""
        #expect(telegram.contains("<b>\(escapeHTML(cut))…</b> (<code>odd</code>)"), "\(telegram.prefix(400))")
        let slack = Self.json(receivers["slack"].delivered[0])["text"] as? String ?? ""
        #expect(slack.contains("*\(escapeHTML(cut))…* (`odd`)"))
        let discord = Self.json(receivers["discord"].delivered[0])["content"] as? String ?? ""
        let discordCut = String(hostile.unicodeScalars.prefix(60).map(Character.init))
        #expect(discord.contains("**\(escapeDiscord(discordCut))…** (`odd`)") && discord.utf16.count <= 2000)
        let event = Self.json(receivers["hook"].delivered[0])
        #expect((event["agent"] as? [String: Any])?["name"] as? String == hostile, "whole in JSON")
        let pager = Self.json(receivers["pager"].delivered[0])["payload"] as? [String: Any] ?? [:]
        let summary = pager["summary"] as? String ?? ""
        #expect(summary.hasPrefix("Agent offline: " + String(hostile.unicodeScalars.prefix(200).map(Character.init))))
        #expect(summary.count <= 1024)
        #expect((pager["custom_details"] as? [String: Any])?["name"] as? String == hostile)
        let mail = receivers.mail.messages[0]
        let mailCut = String(hostile.unicodeScalars.prefix(200).map(Character.init))
        #expect(mail.subject == "[agent-heartbeat] Agent offline: \(mailCut)… (odd)", "\(mail.subject)")
        #expect(mail.body.contains("\(mailCut)… (odd)\nStatus: offline"))
        try await AlertingProcessTests.finish(replicas, redis, configuration)
    }
}
