internal import CCurl
import Foundation
import Synchronization

/// Blocking HTTP through libcurl. Call it on a dedicated thread (see `JobThread`).
public struct HTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    public struct TransportError: Error, CustomStringConvertible {
        public var message: String
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
        try perform(url: url, post: nil, abort: abort)
    }

    func post(
        url: String,
        contentType: String,
        body: [UInt8],
        abort: Abort = Abort()
    ) throws(TransportError) -> Response {
        try perform(url: url, post: (contentType, body), abort: abort)
    }

    /// libcurl's global set-up, once per process, before any handle exists.
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    private func perform(
        url: String,
        post: (contentType: String, body: [UInt8])?,
        abort: Abort
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
        if let post { headers = curl_slist_append(headers, "Content-Type: \(post.contentType)") }
        defer { curl_slist_free_all(headers) }
        let sink = ResponseSink(abort: abort)
        let context = Unmanaged.passRetained(sink)
        defer { context.release() }

        url.withCString { _ = ccurl_easy_setopt_pointer(handle, CURLOPT_URL, $0) }  // libcurl copies strings
        _ = ccurl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = ccurl_easy_setopt_pointer(handle, CURLOPT_HTTPHEADER, headers)
        if let post {
            _ = ccurl_easy_setopt_long(handle, CURLOPT_POSTFIELDSIZE, post.body.count)
            post.body.withUnsafeBytes { _ = ccurl_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
        }
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
        _ = ccurl_easy_setopt_progress_function(handle) { context, _, _, _, _ in
            guard let context else { return 0 }
            return Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue().abort.isRequested ? 1 : 0
        }
        _ = ccurl_easy_setopt_pointer(handle, CURLOPT_XFERINFODATA, context.toOpaque())

        let code = curl_easy_perform(handle)
        if abort.isRequested { throw TransportError(message: "aborted") }
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            throw TransportError(message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        _ = ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, body: sink.bytes)
    }
}

/// Collects the response body for the write callback, which reaches it through an opaque pointer.
private final class ResponseSink {
    var bytes: [UInt8] = []
    let abort: HTTPClient.Abort
    init(abort: HTTPClient.Abort) { self.abort = abort }
}
