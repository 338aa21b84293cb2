import AgentHeartbeatCore
import Foundation
import NIOConcurrencyHelpers

/// The running configuration, replaceable while the sidecar runs (SIGHUP, or the file changed).
/// Readers take `current` whenever they need it; `generation` tells the subscriber to resubscribe.
public final class ConfigurationStore: Sendable {
    public enum ReloadOutcome: Sendable, Equatable {
        case unchanged
        case reloaded(MonitorConfiguration)
        /// The file is invalid; the running configuration stays.
        case failed(ConfigurationError)
    }

    /// Where the configuration came from; nil when it was given in code (tests).
    public let path: String?
    /// The file's content is remembered by its size and hash, not kept: at 100,000 agents it is
    /// megabytes. A collision of both would only delay a reload until the next change or SIGHUP.
    /// Where the file is read and parsed (`reload(force:logger:)`).
    let reader = JobThread(name: "config-reader")
    private let state: NIOLockedValueBox<(configuration: MonitorConfiguration, generation: Int, source: Fingerprint?)>

    private struct Fingerprint: Equatable {
        var count: Int
        var hash: Int

        init(_ data: Data) {
            count = data.count
            // Every byte: Data's own hashValue only looks at the first 80.
            var hasher = Hasher()
            data.withUnsafeBytes { hasher.combine(bytes: $0) }
            hash = hasher.finalize()
        }
    }

    public init(_ configuration: MonitorConfiguration, path: String? = nil) {
        self.path = path
        let source = path.flatMap { FileManager.default.contents(atPath: $0) }.map(Fingerprint.init)
        state = NIOLockedValueBox((configuration, 0, source))
    }

    public var current: MonitorConfiguration { state.withLockedValue { $0.configuration } }
    public var generation: Int { state.withLockedValue { $0.generation } }

    /// Reads the file again and applies it when its content changed (or `force`, for SIGHUP) and is
    /// valid. Comparing the content, not the modification time, also catches a Kubernetes ConfigMap
    /// swapped through a symlink.
    public func reload(force: Bool = false) -> ReloadOutcome {
        guard let path else { return .unchanged }
        // An unreadable file reads as empty: reported once, like any broken content.
        let data = FileManager.default.contents(atPath: path) ?? Data()
        let fingerprint = Fingerprint(data)
        if !force, state.withLockedValue({ $0.source == fingerprint }) { return .unchanged }
        do {
            let configuration = try MonitorConfiguration(data: data, file: path)
            state.withLockedValue { $0 = (configuration, $0.generation + 1, fingerprint) }
            return .reloaded(configuration)
        } catch {
            // Remember the broken content so it is reported once, not every cycle.
            state.withLockedValue { $0.source = fingerprint }
            return .failed(error)
        }
    }
}
