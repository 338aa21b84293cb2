/// Formats Unix milliseconds as `2026-11-29T04:05:56.123Z` without a formatter object:
/// the map renders one per agent, and this is pure arithmetic (days-from-civil inverted).
public func iso8601(milliseconds: Int64) -> String {
    withISO8601(milliseconds: milliseconds) { String(decoding: $0, as: UTF8.self) }
}

/// The same as bytes, handed to `body`: what the map renderer writes for every agent.
func withISO8601<Result>(milliseconds: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
    let totalSeconds = milliseconds.floorDivided(by: 1000)
    let millis = milliseconds - totalSeconds * 1000
    let days = totalSeconds.floorDivided(by: 86_400)
    let secondOfDay = totalSeconds - days * 86_400

    // Howard Hinnant's civil_from_days.
    let z = days + 719_468
    let era = z.floorDivided(by: 146_097)
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)

    // Years outside 0...9999 keep all their digits (and sign), as before.
    let yearText = year >= 0 && year <= 9999 ? nil : String(year)
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32 + (yearText?.utf8.count ?? 0)) { buffer in
        var count = 0
        func put(_ value: Int64, width: Int, then separator: Unicode.Scalar) {
            var rest = value
            for position in (count..<count + width).reversed() {
                buffer[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            buffer[count + width] = UInt8(ascii: separator)
            count += width + 1
        }
        if let yearText {
            for byte in yearText.utf8 {
                buffer[count] = byte
                count += 1
            }
            buffer[count] = UInt8(ascii: "-")
            count += 1
        } else {
            put(year, width: 4, then: "-")
        }
        put(month, width: 2, then: "-")
        put(day, width: 2, then: "T")
        put(secondOfDay / 3600, width: 2, then: ":")
        put(secondOfDay % 3600 / 60, width: 2, then: ":")
        put(secondOfDay % 60, width: 2, then: ".")
        put(millis, width: 3, then: "Z")
        return body(UnsafeBufferPointer(rebasing: buffer[..<count]))
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
