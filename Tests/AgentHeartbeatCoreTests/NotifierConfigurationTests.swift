import AgentHeartbeatCore
import Testing

@Suite("agents.yaml: notifiers and routing")
struct NotifierConfigurationTests {
    func load(_ yaml: String) throws(ConfigurationError) -> MonitorConfiguration { try ConfigurationTests().load(yaml) }

    func failure(_ yaml: String) -> ConfigurationError? { ConfigurationTests().failure(yaml) }

    static let example = """
        notifiers:
          - name: ops-telegram
            type: telegram
          - name: ops-slack
            type: slack
            url_env: SLACK_WEBHOOK_URL
          - name: community
            type: discord
            url_env: DISCORD_WEBHOOK_URL
          - name: oncall
            type: pagerduty
            routing_key_env: PAGERDUTY_ROUTING_KEY
            timeout_seconds: 5
          - name: hook
            type: webhook
            url_env: HOOK_URL
            secret_env: HOOK_SECRET
            max_age_seconds: 3600
          - name: mail
            type: email
            url_env: SMTP_URL
            from: heartbeat@example.com
            to: [ops@example.com, oncall@example.com]
            username_env: SMTP_USER
            password_env: SMTP_PASSWORD
        default_notifiers: [ops-telegram]
        agents:
          - id: mary
            name: Mary
            notify: [ops-slack, oncall]
          - id: lisa
            name: Lisa
        groups:
          - {id: all, name: All, members: ["*"], min_online: 1, notify: [mail]}
        """

    @Test func everyKindWithItsVariablesAndRouting() throws {
        let config = try load(Self.example)
        #expect(config.notifiers.map(\.name) == ["ops-telegram", "ops-slack", "community", "oncall", "hook", "mail"])
        #expect(config.notifiers.map(\.kind) == [.telegram, .slack, .discord, .pagerduty, .webhook, .email])
        let telegram = config.notifiers[0]
        #expect(telegram.variables[.token]?.name == "TELEGRAM_BOT_TOKEN")
        #expect(telegram.variables[.chatID]?.name == "TELEGRAM_CHAT_ID")
        #expect(config.notifiers[1].variables[.url]?.name == "SLACK_WEBHOOK_URL")
        #expect(config.notifiers[1].variables[.url]?.line == 6)
        #expect(config.notifiers[1].variables[.url]?.keyPath == "notifiers[1].url_env")
        #expect(config.notifiers[3].timeout == .seconds(5) && config.notifiers[3].variables[.routingKey] != nil)
        #expect(config.notifiers[4].variables[.secret]?.name == "HOOK_SECRET")
        #expect(config.notifiers[4].maximumAge == .seconds(3600))
        let mail = config.notifiers[5]
        #expect(mail.from == "heartbeat@example.com" && mail.to == ["ops@example.com", "oncall@example.com"])
        #expect(mail.variables[.username]?.name == "SMTP_USER" && mail.variables[.password]?.name == "SMTP_PASSWORD")
        #expect(config.defaultNotifiers == ["ops-telegram"])
        let (mary, lisa) = (config.agents[0], config.agents[1])
        #expect(config.receivers(named: config.rules(of: mary).notify) == ["ops-slack", "oncall"])
        #expect(config.receivers(named: config.rules(of: lisa).notify) == ["ops-telegram"])
        #expect(config.groups[0].notify == ["mail"])
    }

    @Test func recoveryActionsWithTheirDefaults() throws {
        let config = try load(
            """
            agents:
              - id: mary
                name: Mary
                on_offline:
                  - run: [systemctl, restart, mary]
                    timeout_seconds: 30
                    max_attempts: 3
                    backoff_seconds: 60
                  - webhook_env: RESTART_URL
            """
        )
        let actions = config.rules(of: config.agents[0]).onOffline
        #expect(actions.count == 2 && actions[0].kind == .run(["systemctl", "restart", "mary"]))
        #expect(actions[0].summary == "systemctl" && actions[1].summary == "webhook")
        #expect(actions[1].timeout == .seconds(30) && actions[1].maxAttempts == 3 && actions[1].backoff == .seconds(60))
        guard case .webhook(let variable) = actions[1].kind else { throw TestFailure() }
        #expect(variable.name == "RESTART_URL" && variable.line == 9)
        // An outage counts its own attempts; a new one starts afresh.
        let record = RecoveryAction.Record(outage: 100, attempts: 3, lastAttempt: 5_000, result: "exit 1")
        #expect(RecoveryAction.Record(encoded: record.encoded) == record)
        #expect(!actions[0].isDue(outage: 100, record: record, now: 999_999))
        #expect(actions[0].isDue(outage: 200, record: record, now: 5_001))
        var two = record
        two.attempts = 2
        #expect(
            !actions[0].isDue(outage: 100, record: two, now: 64_999)
                && actions[0].isDue(outage: 100, record: two, now: 65_000)
        )
    }

    struct TestFailure: Error {}

    @Test func withoutNotifiersEverythingGoesEverywhere() throws {
        let config = try load("agents:\n  - {id: mary, name: Mary}\n")
        #expect(config.notifiers.isEmpty && config.defaultNotifiers == nil)
        #expect(config.receivers(named: config.rules(of: config.agents[0]).notify) == nil)
    }

    static let agents = "agents:\n  - {id: mary, name: Mary}\n"

    static let invalid: [RulesConfigurationTests.Case] = [
        .init(
            name: "unknown type",
            yaml: agents + "notifiers:\n  - {name: x, type: teams}\n",
            line: 4,
            keyPath: "notifiers[0].type",
            messageContains: "unknown type \"teams\" (known: telegram, slack, discord, pagerduty, webhook, email)"
        ),
        .init(
            name: "a secret written where its variable's name goes",
            yaml: agents + "notifiers:\n  - {name: x, type: slack, url_env: \"https://hooks.slack.com/T0/B0/x\"}\n",
            line: 4,
            keyPath: "notifiers[0].url_env",
            messageContains: "expected the name of an environment variable"
        ),
        .init(
            name: "a secret in the file",
            yaml: agents + "notifiers:\n  - {name: x, type: slack, url: \"https://hooks.slack.com/T0/B0/x\"}\n",
            line: 4,
            keyPath: "notifiers[0].url",
            messageContains: "unknown key \"url\""
        ),
        .init(
            name: "missing url_env",
            yaml: agents + "notifiers:\n  - {name: x, type: webhook}\n",
            line: 4,
            keyPath: "notifiers[0].url_env",
            messageContains: "missing required key \"url_env\""
        ),
        .init(
            name: "repeated name",
            yaml: agents + "notifiers:\n  - {name: x, type: telegram}\n  - {name: x, type: telegram}\n",
            line: 5,
            keyPath: "notifiers[1].name",
            messageContains: "already defined"
        ),
        .init(
            name: "email without recipients",
            yaml: agents + "notifiers:\n  - {name: m, type: email, url_env: U, from: a@b.c}\n",
            line: 4,
            keyPath: "notifiers[0].to",
            messageContains: "missing required key \"to\""
        ),
        .init(
            name: "an address that could inject a header",
            yaml: agents
                + "notifiers:\n  - {name: m, type: email, url_env: U, from: a@b.c, to: \"x@y.z\\r\\nBcc: e@v.il\"}\n",
            line: 4,
            keyPath: "notifiers[0].to",
            messageContains: "is not an email address"
        ),
        .init(
            name: "notify names an unknown notifier",
            yaml:
                "agents:\n  - {id: mary, name: Mary, notify: [slak]}\nnotifiers:\n  - {name: slack, type: telegram}\n",
            line: 2,
            keyPath: "agents[0].notify[0]",
            messageContains: "no notifier is named \"slak\" (defined: slack)"
        ),
        .init(
            name: "an action with both run and webhook_env",
            yaml: "agents:\n  - id: mary\n    name: Mary\n    on_offline:\n      - {run: [x], webhook_env: U}\n",
            line: 5,
            keyPath: "agents[0].on_offline[0]",
            messageContains: "needs exactly one of \"run\" (a list) and \"webhook_env\""
        ),
        .init(
            name: "a command as one shell string",
            yaml: "agents:\n  - id: mary\n    name: Mary\n    on_offline:\n      - {run: \"systemctl restart mary\"}\n",
            line: 5,
            keyPath: "agents[0].on_offline[0].run",
            messageContains: "expected a list"
        ),
        .init(
            name: "default_notifiers without notifiers",
            yaml: agents + "default_notifiers: [ops]\n",
            line: 3,
            keyPath: "default_notifiers[0]",
            messageContains: "no notifiers are defined"
        ),
    ]

    @Test(arguments: invalid)
    func invalidFile(_ example: RulesConfigurationTests.Case) throws {
        let error = try #require(failure(example.yaml))
        #expect(error.line == example.line)
        #expect(error.keyPath == example.keyPath)
        #expect(error.message.contains(example.messageContains), "\(error)")
        #expect(!error.description.contains("hooks.slack.com"), "never quotes the secret back")
    }
}
