import AgentHeartbeatCore
import Foundation

extension MonitorConfiguration {
    /// Loads and validates agents.yaml from disk.
    public init(contentsOfFile path: String) throws(ConfigurationError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file"
            throw ConfigurationError(code: .unreadable, file: path, line: 1, column: 1, keyPath: "", message: reason)
        }
        try self.init(data: data, file: path)
    }

    /// Validates agents.yaml's bytes: start-up and reload accept and refuse the same files.
    init(data: Data, file path: String) throws(ConfigurationError) {
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigurationError(
                code: .unreadable,
                file: path,
                line: 1,
                column: 1,
                keyPath: "",
                message: "the file is not UTF-8 text"
            )
        }
        try self.init(yaml: text, file: path)
    }
}
