import AgentHeartbeatCore
import Foundation
import Testing

@Suite("agents.yaml")
struct ConfigurationTests {
    func load(_ yaml: String) throws(ConfigurationError) -> MonitorConfiguration {
        try MonitorConfiguration(yaml: yaml, file: "agents.yaml")
    }

    /// Loads `yaml` expecting an error, and returns it.
    func failure(_ yaml: String) -> ConfigurationError? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return error
        }
    }

    @Test func defaults() throws {
        let config = try load("agents:\n  - id: mary\n    name: Mary\n")
        #expect(config.offlineThreshold == .seconds(300))
        #expect(config.checkInterval == .seconds(60))
        #expect(config.alertCooldown == .seconds(1800))
        #expect(config.keyPrefix == "agents")
        #expect(config.keyTTL == .seconds(604_800))
        #expect(
            config.agents == [
                .init(id: "mary", name: "Mary", channel: "agents:heartbeat:mary", offlineThreshold: .seconds(300))
            ]
        )
        #expect(config.heartbeatKey(for: "mary") == "{agents}:last:mary")
        #expect(config.alertsKey == "{agents}:alerts" && config.leaderKey == "{agents}:leader")
    }

    @Test func everyKeyAndOverride() throws {
        let config = try load(
            """
            offline_threshold_seconds: 3   # tests use thresholds of a few seconds
            check_interval_seconds: 1
            alert_cooldown_seconds: 5
            key_prefix: team-a
            key_ttl_seconds: 700
            agents:
              - id: mary
                name: Mary Ångström ✓
              - id: paula
                name: "Paula: the second"
                channel: agents:heartbeat:paula-v2
                offline_threshold_seconds: 600
            """
        )
        #expect(config.offlineThreshold == .seconds(3))
        #expect(config.checkInterval == .seconds(1))
        #expect(config.alertCooldown == .seconds(5))
        #expect(config.keyPrefix == "team-a")
        #expect(config.keyTTL == .seconds(700))
        #expect(config.agents[0] == .init(id: "mary", name: "Mary Ångström ✓", offlineThreshold: .seconds(3)))
        #expect(
            config.agents[1]
                == .init(
                    id: "paula",
                    name: "Paula: the second",
                    channel: "agents:heartbeat:paula-v2",
                    offlineThreshold: .seconds(600)
                )
        )
        #expect(config.heartbeatKey(for: "paula") == "{team-a}:last:paula")
    }

    @Test func repositoryFileListsTheFourAgents() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../agents.yaml"
        ).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let config = try MonitorConfiguration(yaml: text, file: path)
        #expect(config.agents.map(\.id) == ["mary", "lisa", "paula", "hybrid"])
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        var code: ConfigurationError.Code
        var line: Int
        var column: Int
        var keyPath: String
        var messageContains: String
        var testDescription: String { name }
    }

    static let invalid: [Case] = [
        Case(
            name: "a brace in key_prefix",
            yaml: "key_prefix: \"{team}\"\nagents: []\n",
            code: .invalidValue,
            line: 1,
            column: 13,
            keyPath: "key_prefix",
            messageContains: "without spaces or braces"
        ),
        Case(
            name: "unknown top-level key",
            yaml: "agents: []\noffline_treshold_seconds: 5\n",
            code: .unknownKey,
            line: 2,
            column: 1,
            keyPath: "offline_treshold_seconds",
            messageContains: "unknown key"
        ),
        Case(
            name: "unknown agent key",
            yaml: "agents:\n  - id: mary\n    name: Mary\n    colour: red\n",
            code: .unknownKey,
            line: 4,
            column: 5,
            keyPath: "agents[0].colour",
            messageContains: "known keys"
        ),
        Case(
            name: "duplicate id",
            yaml: "agents:\n  - id: mary\n    name: Mary\n  - id: mary\n    name: Other\n",
            code: .duplicateID,
            line: 4,
            column: 9,
            keyPath: "agents[1].id",
            messageContains: "first used on line 2"
        ),
        Case(
            name: "missing name",
            yaml: "agents:\n  - id: mary\n  - id: lisa\n    name: Lisa\n",
            code: .missingKey,
            line: 2,
            column: 5,
            keyPath: "agents[0].name",
            messageContains: "\"name\""
        ),
        Case(
            name: "missing id",
            yaml: "agents:\n  - name: Mary\n",
            code: .missingKey,
            line: 2,
            column: 5,
            keyPath: "agents[0].id",
            messageContains: "\"id\""
        ),
        Case(
            name: "missing agents",
            yaml: "check_interval_seconds: 5\n",
            code: .missingKey,
            line: 1,
            column: 1,
            keyPath: "agents",
            messageContains: "agents"
        ),
        Case(
            name: "text where seconds belong",
            yaml: "check_interval_seconds: soon\nagents: []\n",
            code: .wrongType,
            line: 1,
            column: 25,
            keyPath: "check_interval_seconds",
            messageContains: "whole number"
        ),
        Case(
            name: "quoted number",
            yaml: "check_interval_seconds: \"60\"\nagents: []\n",
            code: .wrongType,
            line: 1,
            column: 25,
            keyPath: "check_interval_seconds",
            messageContains: "quoted"
        ),
        Case(
            name: "fraction",
            yaml: "offline_threshold_seconds: 2.5\nagents: []\n",
            code: .wrongType,
            line: 1,
            column: 28,
            keyPath: "offline_threshold_seconds",
            messageContains: "whole number"
        ),
        Case(
            name: "agents not a list",
            yaml: "agents:\n  mary: Mary\n",
            code: .wrongType,
            line: 2,
            column: 3,
            keyPath: "agents",
            messageContains: "a list"
        ),
        Case(
            name: "zero",
            yaml: "check_interval_seconds: 0\nagents: []\n",
            code: .invalidValue,
            line: 1,
            column: 25,
            keyPath: "check_interval_seconds",
            messageContains: "at least 1"
        ),
        Case(
            name: "negative override",
            yaml: "agents:\n  - id: mary\n    name: Mary\n    offline_threshold_seconds: -5\n",
            code: .invalidValue,
            line: 4,
            column: 32,
            keyPath: "agents[0].offline_threshold_seconds",
            messageContains: "at least 1"
        ),
        Case(
            name: "ttl not above threshold",
            yaml: "offline_threshold_seconds: 600\nkey_ttl_seconds: 600\nagents: []\n",
            code: .ttlTooShort,
            line: 2,
            column: 18,
            keyPath: "key_ttl_seconds",
            messageContains: "above offline_threshold_seconds"
        ),
        Case(
            name: "ttl not above an override",
            yaml: "key_ttl_seconds: 900\nagents:\n  - id: mary\n    name: Mary\n    offline_threshold_seconds: 1000\n",
            code: .ttlTooShort,
            line: 5,
            column: 32,
            keyPath: "agents[0].offline_threshold_seconds",
            messageContains: "below key_ttl_seconds"
        ),
        Case(
            name: "YAML syntax error",
            yaml: "agents:\n  - id: mary\n    name: [Mary\n",
            code: .syntax,
            line: 4,
            column: 1,
            keyPath: "",
            messageContains: "YAML syntax error"
        ),
        Case(
            name: "bad indentation",
            yaml: "agents:\n  - id: mary\n   name: Mary\n",
            code: .syntax,
            line: 3,
            column: 4,
            keyPath: "",
            messageContains: "YAML syntax error"
        ),
        Case(
            name: "repeated key",
            yaml: "agents: []\nagents: []\n",
            code: .duplicateKey,
            line: 2,
            column: 1,
            keyPath: "agents",
            messageContains: "first set on line 1"
        ),
        Case(
            name: "id with capitals",
            yaml: "agents:\n  - id: Mary\n    name: Mary\n",
            code: .invalidValue,
            line: 2,
            column: 9,
            keyPath: "agents[0].id",
            messageContains: "a-z, 0-9"
        ),
        Case(
            name: "shared channel",
            yaml: "agents:\n  - id: a\n    name: A\n    channel: shared\n  - id: b\n    name: B\n    channel: shared\n",
            code: .duplicateChannel,
            line: 7,
            column: 14,
            keyPath: "agents[1].channel",
            messageContains: "line 4"
        ),
        Case(
            name: "empty name",
            yaml: "agents:\n  - id: mary\n    name:\n",
            code: .invalidValue,
            line: 3,
            column: 10,
            keyPath: "agents[0].name",
            messageContains: "empty"
        ),
        Case(
            name: "empty file",
            yaml: "# nothing yet\n",
            code: .missingKey,
            line: 1,
            column: 1,
            keyPath: "agents",
            messageContains: "empty"
        ),
    ]

    @Test(arguments: invalid)
    func invalidFile(_ example: Case) throws {
        let error = try #require(failure(example.yaml))
        #expect(error.code == example.code)
        #expect(error.file == "agents.yaml")
        #expect(error.line == example.line)
        #expect(error.column == example.column)
        #expect(error.keyPath == example.keyPath)
        #expect(error.message.contains(example.messageContains), "\(error)")
    }

    @Test func errorDescriptionNamesFileLineColumnAndKey() throws {
        let error = try #require(failure("agents:\n  - id: mary\n    nam: Mary\n"))
        #expect(error.description.hasPrefix("agents.yaml:3:5: agents[0].nam: unknown key \"nam\""))
    }
}
