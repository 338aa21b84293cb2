import Foundation

/// A real SMTP server on a free loopback port: aiosmtpd, run by `Tests/Servers/smtp-sink.py`.
/// Each message it accepts is kept as a file; `messages` reads them in the order they came.
final class SMTPSink: @unchecked Sendable {  // `process` and `folder` are set once, in init.
    struct Message {
        var mailFrom: String
        var recipients: [String]
        /// The message as received: headers, a blank line, the body.
        var data: String

        /// A header's value, unfolded.
        func header(_ name: String) -> String? {
            let head = data.components(separatedBy: "\r\n\r\n").first ?? data.components(separatedBy: "\n\n")[0]
            let unfolded = head.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\n ", with: " ")
            for line in unfolded.components(separatedBy: .newlines) {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }

        /// The subject with its RFC 2047 words decoded.
        var subject: String {
            let raw = header("Subject") ?? ""
            guard raw.hasPrefix("=?UTF-8?B?") else { return raw }
            let bytes = raw.split(separator: " ").flatMap { word -> [UInt8] in
                let text = word.dropFirst("=?UTF-8?B?".count).dropLast(2)
                return Array(Data(base64Encoded: String(text)) ?? Data())
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        /// The base64 body decoded.
        var body: String {
            let parts = data.components(separatedBy: "\r\n\r\n")
            let encoded = parts.dropFirst().joined().components(separatedBy: .whitespacesAndNewlines).joined()
            return String(decoding: Data(base64Encoded: encoded) ?? Data(), as: UTF8.self)
        }
    }

    let port: Int
    private let process = Process()
    private let folder: URL

    init(refusing refused: [String] = []) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-sink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Servers/smtp-sink.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, folder.path] + refused.flatMap { ["--refuse-rcpt", $0] }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            throw TestSetupError("the SMTP sink did not start (is aiosmtpd installed?): \(line)")
        }
        self.port = port
    }

    var url: String { "smtp://127.0.0.1:\(port)" }

    var messages: [Message] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted { Int($0.dropLast(5))! < Int($1.dropLast(5))! }
            .compactMap { name in
                guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path),
                    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                else { return nil }
                return Message(
                    mailFrom: object["mail_from"] as? String ?? "",
                    recipients: object["rcpt_tos"] as? [String] ?? [],
                    data: object["data"] as? String ?? ""
                )
            }
    }

    /// SIGKILL: a child of the test runner may inherit a mask that blocks SIGTERM.
    func stop() {
        if waitForExit(process, timeout: .zero) == nil {
            kill(process.processIdentifier, SIGKILL)
            waitForExit(process)
        }
    }

    deinit { stop() }
}
