import AgentHeartbeat
import ArgumentParser
import Foundation

/// For container HEALTHCHECKs in images without curl.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "GET a URL of the running sidecar; exit 0 on HTTP 200, 1 otherwise (for HEALTHCHECK)."
    )

    @Argument(help: "The URL to fetch (default: /healthz at $AGENT_HEARTBEAT_HTTP, or 127.0.0.1:9464).")
    var url: String?

    /// The local /healthz of a sidecar listening where AGENT_HEARTBEAT_HTTP says (0.0.0.0 means any, so loopback).
    static var localHealthURL: String {
        var address = Environment.value("AGENT_HEARTBEAT_HTTP").flatMap(SidecarHTTPServer.Address.init) ?? .default
        if address.host == "0.0.0.0" || address.host == "::" { address.host = "127.0.0.1" }
        return "http://\(address)/healthz"
    }

    func run() async throws {
        let url = url ?? Self.localHealthURL
        let client = HTTPClient(connectTimeout: .seconds(2), totalTimeout: .seconds(5))
        do {
            let response = try await JobThread.run(named: "probe") { try client.get(url: url) }
            guard response.status == 200 else {
                printError("\(url): HTTP \(response.status)")
                throw ExitCode(1)
            }
            print(String(decoding: response.body, as: UTF8.self), terminator: "")
        } catch let error as HTTPClient.TransportError {
            printError("\(url): \(error)")
            throw ExitCode(1)
        }
    }
}
