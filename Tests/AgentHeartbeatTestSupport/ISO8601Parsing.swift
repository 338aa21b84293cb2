import Foundation

/// Reads back a time the sidecar wrote (`2026-11-29T04:05:56.123Z`) as Unix milliseconds; the
/// sidecar itself only writes them (`iso8601(milliseconds:)`).
public func unixMilliseconds(iso8601 text: String) -> Int64? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
}
