import AgentHeartbeat
import Foundation

/// Headless Chromium from Debian, as a person's browser would load the page. Blocking work runs
/// on a thread of its own: the cooperative pool (2 threads here) must stay free for other tests.
/// Virtual time: the page's timers and fetches run to completion within the budget.
func runChromium(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    try await JobThread.run(named: "chromium") { try runChromiumBlocking(arguments) }
}

private func runChromiumBlocking(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = try findExecutable("chromium")
    process.arguments =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=8000"]
        + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return (waitForExit(process) ?? -1, output)
}

/// Opens `page` in headless Chromium driven over the DevTools protocol (`Tests/Servers/browser.py`),
/// waits for the dashboard's first paint, runs each script (the body of an async function) in
/// order, and returns their results.
func driveChromium(_ page: String, scripts: [String]) async throws -> [Any] {
    let (status, results, log) = try await JobThread.run(named: "chromium") { () throws -> (Int32?, Data, String) in
        let process = Process()
        process.executableURL = try findExecutable("python3")
        let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Servers/browser.py")
        process.arguments = [driver.path, page] + scripts
        // The results alone on stdout; what the driver and the browser say goes to a file.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("browser-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let results = output.fileHandleForReading.readDataToEndOfFile()
        let status = waitForExit(process, timeout: .seconds(60))
        return (status, results, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }
    guard status == 0, let parsed = try? JSONSerialization.jsonObject(with: results) as? [Any] else {
        throw TestSetupError("browser.py failed: \(String(decoding: results, as: UTF8.self)) \(log)")
    }
    return parsed
}
