import Foundation
import NIOConcurrencyHelpers

/// A local HTTP server standing in for a receiver (the Telegram Bot API, a Slack, Discord or
/// plain webhook, PagerDuty's Events API) on a free loopback port. It answers scripted responses
/// in order, then `{"ok":true}`, and records every request.
final class FakeReceiver: Sendable {
    struct Request: Sendable {
        var path: String
        var body: String
        var status: Int
        var at: ContinuousClock.Instant
        /// Names in lower case.
        var headers: [String: String] = [:]

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var text: String { json["text"] as? String ?? "" }
    }

    struct Response: Sendable {
        var status: Int
        var body: String
        var headers: [String] = []

        static func tooManyRequests(retryAfter: Int) -> Response {
            Response(
                status: 429,
                body: #"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after \#(retryAfter)","#
                    + #""parameters":{"retry_after":\#(retryAfter)}}"#
            )
        }
        static let serverError = Response(
            status: 500,
            body: #"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#
        )
        static let unauthorized = Response(
            status: 401,
            body: #"{"ok":false,"error_code":401,"description":"Unauthorized"}"#
        )
    }

    let port: Int
    let listener: Int32
    /// Closed once: `stop()` runs again in `deinit`, and a second `close` would close whatever
    /// descriptor (another test's Redis connection) has taken the number meanwhile.
    private let stopped = NIOLockedValueBox(false)
    private let state = NIOLockedValueBox<(scripted: [Response], requests: [Request])>(([], []))
    /// Requests whose body holds this text get a 400, as Telegram answers a message it refuses.
    private let refusing = NIOLockedValueBox<String?>(nil)
    /// While set, requests are read and never answered, like a Bot API that hangs.
    private let hanging = NIOLockedValueBox(false)
    /// Until then, every request gets this answer.
    private let failing = NIOLockedValueBox<(until: ContinuousClock.Instant, response: Response)?>(nil)

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && getsockname(listener, pointer, &length) == 0
                    && listen(listener, 16) == 0
            }
        }
        guard listening else { throw TestSetupError("fake Bot API could not listen") }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve() }
        thread.name = "fake-bot-api"
        thread.start()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Responses for the next requests, in order.
    func script(_ responses: Response...) {
        state.withLockedValue { $0.scripted += responses }
    }

    func refuse(containing text: String?) { refusing.withLockedValue { $0 = text } }

    func hang(_ on: Bool) { hanging.withLockedValue { $0 = on } }

    /// Answers `response` to every request for `duration` from now.
    func fail(for duration: Duration, with response: Response) {
        failing.withLockedValue { $0 = (.now + duration, response) }
    }

    var requests: [Request] { state.withLockedValue { $0.requests } }

    /// Requests answered 200: messages Telegram would have delivered.
    var delivered: [Request] { requests.filter { $0.status == 200 } }

    func stop() {
        hang(false)
        let wasStopped = stopped.withLockedValue { stopped in
            defer { stopped = true }
            return stopped
        }
        guard !wasStopped else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            // Each connection on its own thread, so one left hanging does not block the next.
            let thread = Thread { [self] in
                handle(connection)
                close(connection)
            }
            thread.start()
        }
    }

    private func handle(_ connection: Int32) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int?
        var contentLength = 0
        while headerEnd == nil || received.count < headerEnd! + contentLength {
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { return }
            received += buffer[0..<count]
            if headerEnd == nil, let range = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                headerEnd = range.upperBound
                let headers = String(decoding: received[..<range.lowerBound], as: UTF8.self).lowercased()
                for line in headers.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength =
                        Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        let head = String(decoding: received[..<headerEnd!], as: UTF8.self)
        let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        let body = String(decoding: received[headerEnd!...], as: UTF8.self)
        var headers: [String: String] = [:]
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        func request(_ status: Int) -> Request {
            Request(path: path, body: body, status: status, at: .now, headers: headers)
        }
        if hanging.withLockedValue({ $0 }) {
            state.withLockedValue { $0.requests.append(request(0)) }
            while hanging.withLockedValue({ $0 }) { usleep(10_000) }
            return
        }
        if let refused = refusing.withLockedValue({ $0 }), body.contains(refused) {
            let answer = #"{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}"#
            state.withLockedValue { $0.requests.append(request(400)) }
            Self.reply(.init(status: 400, body: answer), on: connection)
            return
        }
        if let failure = failing.withLockedValue({ $0 }), ContinuousClock.now < failure.until {
            state.withLockedValue { $0.requests.append(request(failure.response.status)) }
            Self.reply(failure.response, on: connection)
            return
        }
        let response = state.withLockedValue { state in
            let response =
                state.scripted.isEmpty
                ? Response(status: 200, body: #"{"ok":true,"result":{"message_id":1}}"#) : state.scripted.removeFirst()
            state.requests.append(request(response.status))
            return response
        }
        Self.reply(response, on: connection)
    }

    private static func reply(_ response: Response, on connection: Int32) {
        let head =
            "HTTP/1.1 \(response.status) X\r\nContent-Type: application/json\r\n"
            + response.headers.map { $0 + "\r\n" }.joined()
        let reply = head + "Content-Length: \(response.body.utf8.count)\r\nConnection: close\r\n\r\n\(response.body)"
        _ = Array(reply.utf8).withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
    }

    deinit { stop() }
}
