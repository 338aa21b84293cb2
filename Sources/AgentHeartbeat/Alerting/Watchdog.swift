import Foundation
import Logging
import Synchronization

/// A dead man's switch outside the sidecar (`AGENT_HEARTBEAT_WATCHDOG_URL`, Healthchecks.io style):
/// after each check the leader GETs the URL, or the URL + `/fail` when the check failed or the data
/// was degraded. When every replica or Redis is down the pings stop, and the service outside alerts.
/// The URL is a secret (it lets anyone ping): never logged, and cut out of every error.
public final class Watchdog: Sendable {
    private let url: String
    private let thread = JobThread(name: "watchdog")
    private let inFlight = Atomic<Bool>(false)
    private let failing = Atomic<Bool>(false)
    private let logger: Logger

    public init?(environment: [String: String], logger: Logger) {
        guard let url = environment["AGENT_HEARTBEAT_WATCHDOG_URL"], !url.isEmpty else { return nil }
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.logger = logger
    }

    /// Pings without waiting; skipped while the previous ping is still under way.
    func ping(healthy: Bool) {
        guard inFlight.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        let target = healthy ? url : url + "/fail"
        let client = HTTPClient(connectTimeout: .seconds(5), totalTimeout: .seconds(10))
        Task { [self] in
            defer { inFlight.store(false, ordering: .releasing) }
            let problem: String?
            do {
                let response = try await thread.run { () throws(HTTPClient.TransportError) in
                    try client.get(url: target)
                }
                problem = (200..<300).contains(response.status) ? nil : "HTTP \(response.status)"
            } catch {
                problem = "\(error)".replacingOccurrences(of: url, with: "<watchdog>")
            }
            // Logged when it starts and stops failing, not every check.
            if let problem, !failing.exchange(true, ordering: .relaxed) {
                logger.warning("watchdog ping failed", metadata: ["reason": "\(problem)"])
            } else if problem == nil, failing.exchange(false, ordering: .relaxed) {
                logger.notice("watchdog ping works again")
            }
        }
    }
}
