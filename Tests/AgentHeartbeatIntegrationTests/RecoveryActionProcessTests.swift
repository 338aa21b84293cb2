import AgentHeartbeat
import AgentHeartbeatCore
import Foundation
import Testing

/// `on_offline` actions run by two `run` replicas: once per attempt, killed at their timeout, told
/// in the next notification, and deaf to what agents send.
@Suite("Recovery actions", .serialized)
struct RecoveryActionProcessTests {
    /// Records each run, its arguments, what it was told and its whole environment, then exits 3.
    static let script = """
        #!/bin/sh
        dir="$1"
        echo "run $RECOVERY_ATTEMPT" >> "$dir/runs.log"
        for argument in "$@"; do printf '%s\\n' "$argument"; done > "$dir/arguments.txt"
        printf '%s' "$AGENT_REPORTED_STATUS" > "$dir/status.txt"
        env > "$dir/environment.txt"
        echo "restarting $AGENT_ID"
        exit 3
        """

    /// What the agent reports before it dies: every way a shell could be made to run something.
    static let hostileStatus = #"ok"; touch PWNED; echo "$(touch PWNED) `touch PWNED` ' ; | & > PWNED"#

    @Test func actionsRunOncePerAttemptAreKilledAtTheirTimeoutAndAreToldInTheNextMessage() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("actions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let script = work.appendingPathComponent("restart.sh")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)

        let api = try FakeReceiver()
        var configuration = AlertingProcessTests.configuration(["mary"], cooldown: .seconds(5))
        var rules = AgentRules()
        var restart = RecoveryAction(.run([script.path, work.path, "$(touch PWNED)", "two words"]))
        restart.maxAttempts = 2
        restart.backoff = .seconds(1)
        restart.timeout = .seconds(10)
        var hang = RecoveryAction(.run(["sleep", "31"]))
        hang.maxAttempts = 1
        hang.timeout = .seconds(1)
        rules.onOffline = [restart, hang]
        configuration.set(rules, forAgentAt: 0)
        let redis = try TestRedis.client()
        let replicas = try AlertingProcessTests.replicas(2, configuration, api)
        try await redis.waitForSubscribers(configuration.agents[0].channel, count: 2)
        let payload = try String(
            decoding: JSONSerialization.data(withJSONObject: ["status": Self.hostileStatus]),
            as: UTF8.self
        )
        try await redis.publish(configuration.agents[0].channel, payload)
        for replica in replicas { try await eventually("online") { replica.status(of: "mary") == "online" } }

        try await eventually("the alert") { api.delivered.count == 1 }
        #expect(!api.delivered[0].text.contains("Recovery action"), "no attempt before the alert")
        let runs = work.appendingPathComponent("runs.log")
        try await eventually("two attempts") {
            ((try? String(contentsOf: runs, encoding: .utf8)) ?? "") == "run 1\nrun 2\n"
        }
        try await eventually("the reminder tells what the actions did") { api.delivered.count == 2 }
        let reminder = api.delivered[1].text
        #expect(
            reminder.contains(
                "Recovery action: restart.sh: attempt 2 of 2, exit 3; sleep: attempt 1 of 1, killed after 1s (timeout)"
            ),
            "\(reminder)"
        )
        try await AlertingProcessTests.waitCycles(replicas)
        #expect(try String(contentsOf: runs, encoding: .utf8) == "run 1\nrun 2\n", "at most max_attempts, once each")

        // The argv as configured, the agent's text only in the environment, and no shell ran it.
        let arguments = try String(contentsOf: work.appendingPathComponent("arguments.txt"), encoding: .utf8)
        #expect(arguments == "\(work.path)\n$(touch PWNED)\ntwo words\n")
        let status = try String(contentsOf: work.appendingPathComponent("status.txt"), encoding: .utf8)
        #expect(status == Self.hostileStatus)
        for replica in replicas {
            #expect(!FileManager.default.fileExists(atPath: replica.folder.appendingPathComponent("PWNED").path))
        }
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("PWNED").path))
        let environment = try String(contentsOf: work.appendingPathComponent("environment.txt"), encoding: .utf8)
        #expect(environment.contains("AGENT_ID=mary\n") && environment.contains("AGENT_STATUS=offline\n"))
        #expect(environment.contains("RECOVERY_ATTEMPT=2\n") && environment.contains("SECONDS_OFFLINE="))
        #expect(!environment.contains("TELEGRAM") && !environment.contains("LUKA_REDIS_URL"), "no secret inherited")
        // Killed at its timeout: no `sleep 31` is left.
        let pgrep = Process()
        pgrep.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        pgrep.arguments = ["-f", "sleep 31"]
        try pgrep.run()
        #expect(waitForExit(pgrep) == 1, "pgrep found a sleep 31 still running")

        let leader = try #require(replicas.first { $0.output.contains("became the leader") })
        #expect(leader.output.contains("recovery action finished") && leader.output.contains("restarting mary"))
        #expect(replicas.filter { $0.output.contains("recovery action started") }.count == 1, "the leader only")
        let metrics = try await parsedMetrics(leader)
        #expect(metrics[#"agent_heartbeat_recovery_actions_total{result="failed"}"#] == 2)
        #expect(metrics[#"agent_heartbeat_recovery_actions_total{result="timeout"}"#] == 1)
        try await AlertingProcessTests.finish(replicas, redis, configuration)
    }
}
