import AgentHeartbeatCore
import Foundation
import NIOConcurrencyHelpers

/// What the HTTP endpoints report about this replica: the last map, whether checks succeed,
/// who leads. Written by the check loop, read by request handlers.
public final class SidecarStatus: Sendable {
    public struct Snapshot: Sendable {
        /// Where the last status map was written; nil before the first check succeeds.
        public var mapPath: String?
        /// Why the last check failed; nil after a successful one.
        public var checkError: String?
        /// The lock token of the replica holding the leader lock, if any: `<replica name>/<uuid>`.
        public var leaderToken: String?

        /// The leader's replica name, for people.
        public var leader: String? { leaderToken.map { String($0.prefix(while: { $0 != "/" })) } }
    }

    /// This replica's name in the leader lock and on the dashboard: host and process id.
    public let replicaName: String
    /// This process's token in the leader lock: unique even among containers that share a
    /// hostname and PID 1, so "this replica leads" compares tokens, never names.
    public let lockToken: String
    private let state = NIOLockedValueBox(Snapshot(mapPath: nil, checkError: "no check yet", leaderToken: nil))
    private let latest = NIOLockedValueBox<AgentCatalog?>(nil)

    public init(
        replicaName: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    ) {
        self.replicaName = replicaName
        lockToken = "\(replicaName)/\(UUID().uuidString)"
    }

    public var snapshot: Snapshot { state.withLockedValue { $0 } }

    public var isLeader: Bool { snapshot.leaderToken == lockToken }

    func checked(mapPath: String) {
        state.withLockedValue {
            $0.mapPath = mapPath
            $0.checkError = nil
        }
    }

    /// The latest check's agents, for the API; nil before the first check.
    public var catalog: AgentCatalog? { latest.withLockedValue { $0 } }

    func published(_ catalog: AgentCatalog) { latest.withLockedValue { $0 = catalog } }

    func checkFailed(_ reason: String) { state.withLockedValue { $0.checkError = reason } }

    func leader(_ token: String?) { state.withLockedValue { $0.leaderToken = token } }
}
