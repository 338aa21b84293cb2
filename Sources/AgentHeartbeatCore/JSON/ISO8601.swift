/// Formats Unix milliseconds as `2026-11-29T04:05:56.123Z` without a formatter object:
/// the map renders one per agent, and this is pure arithmetic (days-from-civil inverted).
public func iso8601(milliseconds: Int64) -> String {
    withISO8601(milliseconds: milliseconds) { String(decoding: $0, as: UTF8.self) }
}

/// The same as bytes, handed to `body`.
func withISO8601<Result>(milliseconds: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
    let (day, millisecond) = ISO8601.split(milliseconds)
    let bytes = ISO8601.date(day: day) + ISO8601.time(millisecondOfDay: millisecond)
    return bytes.withUnsafeBufferPointer(body)
}

enum ISO8601 {
    static let millisecondsPerDay: Int64 = 86_400_000

    /// Days since 1970 and the millisecond of that day.
    static func split(_ milliseconds: Int64) -> (day: Int64, millisecond: Int64) {
        var day = milliseconds / millisecondsPerDay
        if milliseconds % millisecondsPerDay < 0 { day -= 1 }
        return (day, milliseconds - day * millisecondsPerDay)
    }

    /// `2026-11-29T` for a day since 1970; years outside 0...9999 keep all their digits and sign.
    static func date(day days: Int64) -> [UInt8] {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let yearText = year >= 0 && year <= 9999 ? digits(year, width: 4, then: "-") : Array("\(year)-".utf8)
        return yearText + digits(month, width: 2, then: "-") + digits(day, width: 2, then: "T")
    }

    /// `04:05:56.123Z` for a millisecond of a day, handed to `body` without an allocation.
    static func withTime<Result>(millisecondOfDay: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 13) { buffer in
            let second = millisecondOfDay / 1000
            put(second / 3600, width: 2, then: ":", into: buffer, at: 0)
            put(second % 3600 / 60, width: 2, then: ":", into: buffer, at: 3)
            put(second % 60, width: 2, then: ".", into: buffer, at: 6)
            put(millisecondOfDay % 1000, width: 3, then: "Z", into: buffer, at: 9)
            return body(UnsafeBufferPointer(buffer))
        }
    }

    static func time(millisecondOfDay: Int64) -> [UInt8] { withTime(millisecondOfDay: millisecondOfDay) { Array($0) } }

    /// `value` in `width` digits, zeros in front, then `separator`.
    private static func digits(_ value: Int64, width: Int, then separator: Unicode.Scalar) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: width + 1) { buffer, count in
            put(value, width: width, then: separator, into: buffer, at: 0)
            count = width + 1
        }
    }

    private static func put(
        _ value: Int64,
        width: Int,
        then separator: Unicode.Scalar,
        into buffer: UnsafeMutableBufferPointer<UInt8>,
        at start: Int
    ) {
        var rest = value
        for offset in (0..<width).reversed() {
            buffer[start + offset] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        buffer[start + width] = UInt8(ascii: separator)
    }
}
