/// An agent's metric series as the mirror's script keeps them (`RedisScript.mirrorHeartbeat`): a
/// Redis list with one entry per minute that had heartbeats, oldest first, each
/// `<minute>|<name>=<last>,<min>,<max>|…` (minute: ms since 1970 ÷ 60,000).
public enum MetricSeries {
    /// How the interval (`AgentRules.intervalMetric`) is named in entries: no declared metric can
    /// start with a digit, and the full name took 1.5 KB of every agent's 60 points.
    public static let intervalName = "0"

    /// Metric name → points, oldest first, from the list's entries; malformed ones are skipped.
    public static func points(from entries: [String]) -> [String: [APIDocument.Point]] {
        var series: [String: [APIDocument.Point]] = [:]
        for entry in entries {
            let parts = entry.split(separator: "|")
            guard let minute = parts.first.flatMap({ Int64($0) }) else { continue }
            let time = iso8601(milliseconds: minute * 60_000)
            for part in parts.dropFirst() {
                guard let equals = part.firstIndex(of: "=") else { continue }
                let values = part[part.index(after: equals)...].split(separator: ",").compactMap { Double($0) }
                guard values.count == 3, values.allSatisfy(\.isFinite) else { continue }
                let point = APIDocument.Point(minute: time, last: values[0], min: values[1], max: values[2])
                let name = part[..<equals] == intervalName ? AgentRules.intervalMetric : String(part[..<equals])
                series[name, default: []].append(point)
            }
        }
        return series
    }
}
