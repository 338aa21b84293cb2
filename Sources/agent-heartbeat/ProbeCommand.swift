import AgentHeartbeat
import ArgumentParser
import Foundation

/// For container HEALTHCHECKs in images without curl.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "GET a URL of the running sidecar; exit 0 on HTTP 200, 1 otherwise (for HEALTHCHECK).")

    @Argument(help: "The URL to fetch.")
    var url: String = "http://127.0.0.1:9464/healthz"

    func run() async throws {
        let url = url
        let client = HTTPClient(connectTimeout: .seconds(2), totalTimeout: .seconds(5))
        do {
            let response = try await onDedicatedThread(name: "probe") { try client.get(url: url) }
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
