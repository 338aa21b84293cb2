import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads agents.yaml on SIGHUP, at once (the check loop also notices changes every cycle).
public struct ReloadSignalService: Service, CustomStringConvertible {
    let store: ConfigurationStore
    let logger: Logger
    public var description: String { "ReloadSignalService" }

    public init(store: ConfigurationStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logger.info("SIGHUP: reloading the configuration")
            await store.reload(force: true, logger: logger)
        }
    }
}
