import Foundation

/// A recurring maintenance window from agents.yaml: on the named weekdays, from `start` local
/// time in `timeZone`, for `duration`. Agents it covers are silenced meanwhile.
public struct MaintenanceWindow: Sendable, Hashable {
    /// Agent ids, group ids or globs (`*` is every agent).
    public var targets: [String]
    /// 1 = Sunday … 7 = Saturday, as `Calendar` counts.
    public var weekdays: Set<Int>
    /// Minutes after local midnight.
    public var startMinute: Int
    public var duration: Duration
    /// An IANA name, e.g. `Europe/Berlin`; checked when agents.yaml is read.
    public var timeZone: String
    public var reason: String

    public init(
        targets: [String],
        weekdays: Set<Int>,
        startMinute: Int,
        duration: Duration,
        timeZone: String,
        reason: String
    ) {
        self.targets = targets
        self.weekdays = weekdays
        self.startMinute = startMinute
        self.duration = duration
        self.timeZone = timeZone
        self.reason = reason
    }

    /// Longest window: one week, so at most eight days' starts can cover an instant.
    public static let maximumDuration = Duration.seconds(7 * 86_400)

    public static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// When the window that covers `now` (ms since 1970) ends, or nil outside it. Local times
    /// follow the zone's rules, daylight saving included: a start skipped by a clock change
    /// begins at the next valid time.
    public func activeUntil(at now: Int64) -> Int64? {
        guard let zone = TimeZone(identifier: timeZone) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let instant = Date(timeIntervalSince1970: Double(now) / 1000)
        let today = calendar.startOfDay(for: instant)
        var end: Int64?
        for daysBack in 0...7 {
            guard let day = calendar.date(byAdding: .day, value: -daysBack, to: today),
                weekdays.contains(calendar.component(.weekday, from: day)),
                let start = calendar.date(
                    bySettingHour: startMinute / 60,
                    minute: startMinute % 60,
                    second: 0,
                    of: day
                )
            else { continue }
            let startMilliseconds = Int64((start.timeIntervalSince1970 * 1000).rounded())
            let until = startMilliseconds + duration.wholeMilliseconds
            if startMilliseconds <= now, now < until { end = max(end ?? until, until) }
        }
        return end
    }
}

extension MaintenanceWindow {
    /// Whether the system knows the zone (tzdata).
    public static func isKnownTimeZone(_ name: String) -> Bool { TimeZone(identifier: name) != nil }
}
