internal import CCurl
import Foundation
import Synchronization

/// Blocking HTTP and SMTP through libcurl. Call it on a dedicated thread (see `JobThread`).
public struct HTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        /// Header names in lower case; a repeated header keeps its last value.
        public var headers: [String: String] = [:]
    }

    public struct TransportError: Error, CustomStringConvertible {
        public var message: String
        /// The last SMTP (or HTTP) reply code, when the server answered at all.
        public var responseCode = 0
        public var description: String { message }
    }

    var connectTimeout: Duration
    var totalTimeout: Duration

    public init(connectTimeout: Duration, totalTimeout: Duration) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
    }

    /// Set from any thread to abort a transfer in flight (within about a second).
    public final class Abort: Sendable {
        private let flag = Atomic<Bool>(false)
        public init() {}
        public func callAsFunction() { flag.store(true, ordering: .relaxed) }
        var isRequested: Bool { flag.load(ordering: .relaxed) }
    }

    public func get(url: String, abort: Abort = Abort()) throws(TransportError) -> Response {
        try perform(url: url, headers: [], abort: abort) { _, _ in }
    }

    /// POSTs `body`; `headers` are whole lines ("X-Name: value").
    func post(
        url: String,
        contentType: String,
        body: [UInt8],
        headers: [String] = [],
        abort: Abort = Abort()
    ) throws(TransportError) -> Response {
        try perform(url: url, headers: ["Content-Type: \(contentType)"] + headers, abort: abort) { handle, _ in
            _ = ccurl_easy_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
            body.withUnsafeBytes { _ = ccurl_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
        }
    }

    /// Sends `message` (headers and body, CRLF lines) over SMTP: `smtp://` upgraded with STARTTLS
    /// whenever the server offers it (required when `requireTLS`), or `smtps://`. Returns the
    /// server's last reply code.
    func sendMail(
        url: String,
        from: String,
        to recipients: [String],
        message: [UInt8],
        credentials: (username: String, password: String)?,
        requireTLS: Bool,
        abort: Abort = Abort()
    ) throws(TransportError) -> Int {
        var list: UnsafeMutablePointer<curl_slist>?
        for recipient in recipients { list = curl_slist_append(list, "<\(recipient)>") }
        defer { curl_slist_free_all(list) }
        return try perform(url: url, headers: [], abort: abort) { handle, sink in
            "<\(from)>".withCString { _ = ccurl_easy_setopt_pointer(handle, CURLOPT_MAIL_FROM, $0) }
            _ = ccurl_easy_setopt_pointer(handle, CURLOPT_MAIL_RCPT, list)
            let level = requireTLS ? CURLUSESSL_ALL : CURLUSESSL_TRY
            _ = ccurl_easy_setopt_long(handle, CURLOPT_USE_SSL, Int(level.rawValue))
            if let credentials {
                credentials.username.withCString { _ = ccurl_easy_setopt_pointer(handle, CURLOPT_USERNAME, $0) }
                credentials.password.withCString { _ = ccurl_easy_setopt_pointer(handle, CURLOPT_PASSWORD, $0) }
            }
            sink.upload = message
            _ = ccurl_easy_setopt_long(handle, CURLOPT_UPLOAD, 1)
            _ = ccurl_easy_setopt_long(handle, CURLOPT_INFILESIZE, message.count)
            _ = ccurl_easy_setopt_read_function(handle) { data, size, count, context in
                guard let data, let context else { return 0 }
                let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
                let length = min(size * count, sink.upload.count - sink.uploaded)
                sink.upload.withUnsafeBytes { bytes in
                    UnsafeMutableRawPointer(data).copyMemory(
                        from: bytes.baseAddress! + sink.uploaded,
                        byteCount: length
                    )
                }
                sink.uploaded += length
                return length
            }
            _ = ccurl_easy_setopt_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(sink).toOpaque())
        }.status
    }

    /// libcurl's global set-up, once per process, before any handle exists.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    private func perform(
        url: String,
        headers lines: [String],
        abort: Abort,
        configure: (UnsafeMutableRawPointer, ResponseSink) -> Void
    ) throws(TransportError) -> Response {
        _ = Self.globalInit
        guard let handle = curl_easy_init() else { throw TransportError(message: "libcurl could not create a handle") }
        defer { curl_easy_cleanup(handle) }
        // libcurl writes its error text here and keeps the address until cleanup: heap, not stack.
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }
        // libcurl reads the header list during the transfer: it lives until this function returns.
        // "Expect:" turns off curl's 100-continue round trip.
        var headers: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Expect:")
        for line in lines { headers = curl_slist_append(headers, line) }
        defer { curl_slist_free_all(headers) }
        let sink = ResponseSink(abort: abort)
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }

        url.withCString { _ = ccurl_easy_setopt_pointer(handle, CURLOPT_URL, $0) }  // libcurl copies strings
        _ = ccurl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = ccurl_easy_setopt_pointer(handle, CURLOPT_HTTPHEADER, headers)
        _ = ccurl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout.wholeMilliseconds))
        _ = ccurl_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(totalTimeout.wholeMilliseconds))
        _ = ccurl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1)  // threads: no SIGALRM timeouts
        _ = ccurl_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        _ = ccurl_easy_setopt_write_function(handle) { data, size, count, context in
            guard let data, let context else { return 0 }
            let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
            data.withMemoryRebound(to: UInt8.self, capacity: size * count) {
                sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: size * count))
            }
            return size * count
        }
        _ = ccurl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, context.toOpaque())
        _ = ccurl_easy_setopt_header_function(handle) { data, size, count, context in
            guard let data, let context else { return 0 }
            let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
            let line = data.withMemoryRebound(to: UInt8.self, capacity: size * count) {
                String(decoding: UnsafeBufferPointer(start: $0, count: size * count), as: UTF8.self)
            }
            if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].lowercased()
                sink.headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return size * count
        }
        _ = ccurl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, context.toOpaque())
        _ = ccurl_easy_setopt_progress_function(handle) { context, _, _, _, _ in
            guard let context else { return 0 }
            return Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue().abort.isRequested ? 1 : 0
        }
        _ = ccurl_easy_setopt_pointer(handle, CURLOPT_XFERINFODATA, context.toOpaque())
        configure(handle, sink)

        let code = curl_easy_perform(handle)
        var status = 0
        _ = ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        if abort.isRequested { throw TransportError(message: "aborted") }
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            throw TransportError(
                message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail,
                responseCode: status
            )
        }
        return Response(status: status, body: sink.bytes, headers: sink.headers)
    }
}

/// What the callbacks share, reached through an opaque pointer: the response, the upload, the abort flag.
private final class ResponseSink {
    var bytes: [UInt8] = []
    var headers: [String: String] = [:]
    var upload: [UInt8] = []
    var uploaded = 0
    let abort: HTTPClient.Abort
    init(abort: HTTPClient.Abort) { self.abort = abort }
}
