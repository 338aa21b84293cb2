import Foundation
import Synchronization

/// What the HTTP endpoints report about this replica: the last map, whether checks succeed,
/// who leads. Written by the check loop, read by request handlers.
public final class SidecarStatus: Sendable {
    public struct Snapshot: Sendable {
        /// Where the last status map was written; nil before the first check succeeds.
        public var mapPath: String?
        /// Why the last check failed; nil after a successful one.
        public var checkError: String?
        /// The replica holding the leader lock, if any.
        public var leader: String?
    }

    /// This replica's name in the leader lock and on the dashboard: host and process id.
    public let replicaName: String
    private let state = Mutex(Snapshot(mapPath: nil, checkError: "no check yet", leader: nil))

    public init(replicaName: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)") {
        self.replicaName = replicaName
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    func checked(mapPath: String) {
        state.withLock {
            $0.mapPath = mapPath
            $0.checkError = nil
        }
    }

    func checkFailed(_ reason: String) { state.withLock { $0.checkError = reason } }

    func leader(_ name: String?) { state.withLock { $0.leader = name } }
}
