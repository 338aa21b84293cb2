import Foundation

/// An RFC 5322 message: plain-text UTF-8 body in base64 (no line is ever too long, no agent text
/// can end a header or the SMTP data), the subject as RFC 2047 encoded words when it is not plain
/// ASCII. Pure.
public enum MailMessage {
    public static func render(
        from: String,
        to recipients: [String],
        subject: String,
        body: String,
        id: String,
        date milliseconds: Int64,
        host: String = "agent-heartbeat"
    ) -> [UInt8] {
        let lines = [
            "From: agent-heartbeat <\(from)>",
            "To: " + recipients.map { "<\($0)>" }.joined(separator: ", "),
            "Subject: " + encodedHeader(subject),
            "Date: " + rfc5322Date(milliseconds: milliseconds),
            "Message-ID: <\(id.filter { $0.isLetter || $0.isNumber || $0 == "-" })@\(host)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "Auto-Submitted: auto-generated",
            "",
            Data(body.utf8).base64EncodedString(options: [
                .lineLength76Characters, .endLineWithCarriageReturn,
                .endLineWithLineFeed,
            ]),
        ]
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// Printable ASCII as it is; anything else as `=?UTF-8?B?…?=` words of 39 bytes (64
    /// characters: a header line stays under 78), folded onto continuation lines, split between
    /// Unicode scalars.
    static func encodedHeader(_ text: String) -> String {
        let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 ? " " : $0 }))
        if cleaned.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }), cleaned.utf8.count <= 900 { return cleaned }
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in cleaned.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 39 {
                words.append(word(chunk))
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(word(chunk)) }
        return words.joined(separator: "\r\n ")
    }

    private static func word(_ bytes: [UInt8]) -> String { "=?UTF-8?B?\(Data(bytes).base64EncodedString())?=" }

    /// `Mon, 30 Nov 2026 03:44:27 +0000`
    static func rfc5322Date(milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
