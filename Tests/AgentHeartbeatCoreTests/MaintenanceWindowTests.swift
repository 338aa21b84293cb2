import Testing

@testable import AgentHeartbeatCore

@Suite("Maintenance windows, silences and globs")
struct MaintenanceWindowTests {
    /// Milliseconds of an ISO 8601 UTC time, e.g. `2026-03-29T00:30:00Z`.
    func at(_ text: String) -> Int64 {
        let parts = text.split { "-T:Z".contains($0) }.map { Int64($0)! }
        var days: Int64 = 0
        for year in 1970..<parts[0] { days += (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 366 : 365 }
        let leap = parts[0] % 4 == 0 && (parts[0] % 100 != 0 || parts[0] % 400 == 0)
        let months: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        days += months.prefix(Int(parts[1]) - 1).reduce(0, +) + parts[2] - 1
        return ((days * 24 + parts[3]) * 60 + parts[4]) * 60_000 + parts[5] * 1000
    }

    func window(_ days: Set<Int>, start: Int, minutes: Int64, zone: String) -> MaintenanceWindow {
        MaintenanceWindow(
            targets: ["*"],
            weekdays: days,
            startMinute: start,
            duration: .seconds(minutes * 60),
            timeZone: zone,
            reason: "backup"
        )
    }

    @Test func coversItsLocalTimeOnItsDays() {
        // Sundays 02:00–03:30 in Berlin: 01:00–02:30 UTC in winter.
        let sunday = window([1], start: 120, minutes: 90, zone: "Europe/Berlin")
        #expect(sunday.activeUntil(at: at("2026-11-29T00:59:59Z")) == nil)
        #expect(sunday.activeUntil(at: at("2026-11-29T01:00:00Z")) == at("2026-11-29T02:30:00Z"))
        #expect(sunday.activeUntil(at: at("2026-11-29T02:29:59Z")) == at("2026-11-29T02:30:00Z"))
        #expect(sunday.activeUntil(at: at("2026-11-29T02:30:00Z")) == nil)
        #expect(sunday.activeUntil(at: at("2026-11-30T01:30:00Z")) == nil)  // a Monday
        // Summer time: 00:00–01:30 UTC.
        #expect(sunday.activeUntil(at: at("2026-07-05T00:10:00Z")) == at("2026-07-05T01:30:00Z"))
    }

    @Test func spansMidnightAndFollowsDaylightSaving() {
        // Saturdays 23:00 UTC for three hours: still on at Sunday 01:00.
        let late = window([7], start: 23 * 60, minutes: 180, zone: "UTC")
        #expect(late.activeUntil(at: at("2026-11-29T01:00:00Z")) == at("2026-11-29T02:00:00Z"))
        // 29 March 2026, Berlin: 02:00 does not exist; the window opens at 03:00 CEST (01:00 UTC).
        let skipped = window([1], start: 150, minutes: 60, zone: "Europe/Berlin")
        #expect(skipped.activeUntil(at: at("2026-03-29T00:45:00Z")) == nil)
        #expect(skipped.activeUntil(at: at("2026-03-29T01:10:00Z")) != nil)
    }

    @Test func silencesMatchIdsGroupsAndGlobs() throws {
        let configuration = try MonitorConfiguration(
            yaml: """
                agents:
                  - {id: mary, name: Mary}
                  - {id: worker-1, name: W1}
                  - {id: worker-10, name: W10}
                groups:
                  - {id: workers, name: Workers, members: [worker-1], min_online: 1}
                """,
            file: "agents.yaml"
        )
        let plan = Assessment.Plan(configuration)
        func covered(_ target: String) -> [Int] { plan.indices(of: target, in: configuration.agents) }
        #expect(covered("worker-1") == [1] && covered("workers") == [1] && covered("*") == [0, 1, 2])
        #expect(covered("w*-?") == [1] && covered("worker-*") == [1, 2] && covered("nobody").isEmpty)
        let stored = Silence(id: "ab12", target: "ma\"ry", until: 99, reason: "déploiement <b>", createdAt: 5)
        #expect(Silence(stored: stored.encoded) == stored)
        #expect(Silence(stored: Array("{}".utf8)) == nil)
        #expect(
            configuration.knows(target: "workers") && configuration.knows(target: "w*")
                && !configuration.knows(target: "x")
        )
    }

    @Test func durationsAsPeopleWriteThem() {
        #expect(parseDuration("90s") == .seconds(90))
        #expect(parseDuration("2h") == .seconds(7200))
        #expect(parseDuration("1h30m") == .seconds(5400))
        #expect(parseDuration("1d") == .seconds(86_400))
        for bad in ["", "5", "h", "2x", "-1h", "0s", "1.5h", "99999999999999999d"] {
            #expect(parseDuration(bad) == nil, "\(bad)")
        }
    }

    @Test func globs() {
        #expect(globMatches("*", "anything") && globMatches("a*c", "abbc") && globMatches("a?c", "abc"))
        #expect(!globMatches("a?c", "ac") && !globMatches("worker-*", "gateway") && globMatches("**", ""))
    }
}
