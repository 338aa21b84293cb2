import AgentHeartbeatCore
import Foundation
import Testing

/// The deployment examples in container/ (their schemas are checked by container/check-manifests.sh).
@Suite("Deployment examples")
struct DeploymentExamplesTests {
    static let container = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("container")

    /// Every `LUKA_REDIS_URL` value in the compose files and Kubernetes manifests, as written.
    static func redisURLs() throws -> [(file: String, url: String)] {
        var found: [(String, String)] = []
        let files = FileManager.default.enumerator(atPath: container.path)?.compactMap { $0 as? String } ?? []
        for file in files where file.hasSuffix(".yaml") {
            let lines = try String(contentsOf: container.appendingPathComponent(file), encoding: .utf8)
                .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            for (index, line) in lines.enumerated() {
                if line.hasPrefix("LUKA_REDIS_URL: ") {
                    found.append((file, String(line.dropFirst("LUKA_REDIS_URL: ".count))))
                } else if line == "- name: LUKA_REDIS_URL", index + 1 < lines.count,
                    lines[index + 1].hasPrefix("value: ")
                {
                    found.append((file, String(lines[index + 1].dropFirst("value: ".count))))
                }
            }
        }
        return found
    }

    @Test func everyRedisURLIsOneTheSidecarAccepts() throws {
        let urls = try Self.redisURLs()
        #expect(urls.contains { $0.url.hasPrefix("redis-sentinel://") }, "the Sentinel examples are found")
        for (file, url) in urls {
            #expect(throws: Never.self, "\(file): \(url)") { try RedisEndpoint(parsing: url) }
        }
    }
}
