import AgentHeartbeat
import Foundation
import NIOConcurrencyHelpers

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

/// Loads `page` in real time (virtual time would hide the work) and waits for the console line
/// the dashboard logs once the agents are on screen; returns its milliseconds since navigation.
func measureFirstPaint(_ page: String, timeout: Duration = .seconds(30)) async throws -> Double {
    try await JobThread.run(named: "chromium") { () throws -> Double in
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = try findExecutable("chromium")
        // Remote debugging keeps the headless browser open after the load event.
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--enable-logging=stderr",
            "--v=0", "--remote-debugging-port=0", "--user-data-dir=\(profile.path)", "--window-size=1200,900", page,
        ]
        let pipe = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = pipe
        try process.run()
        // A browser that never logs is killed at the deadline, which ends the reads below (only
        // while it runs: its pid may be another process's afterwards).
        let running = NIOLockedValueBox(true)
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + Double(timeout.components.seconds)) {
            running.withLockedValue { if $0 { kill(pid, SIGKILL) } }
        }
        defer {
            // Until reaped, the pid stays this process's (a zombie at worst).
            running.withLockedValue {
                $0 = false
                kill(pid, SIGKILL)
            }
            waitForExit(process, timeout: .seconds(10))
        }
        var log = ""
        let marker = "agent-heartbeat first paint ms "
        while true {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
            if let range = log.range(of: marker) {
                let digits = log[range.upperBound...].prefix { $0.isNumber || $0 == "." }
                if let value = Double(digits), log[range.upperBound...].contains(" agents") { return value }
            }
        }
        throw TestSetupError("no first paint logged by \(page): \(log.suffix(2000))")
    }
}

/// Opens `page` in headless Chromium driven over the DevTools protocol (`Tests/Servers/browser.py`),
/// waits for the dashboard's first paint, runs each script (the body of an async function) in
/// order, and returns their results.
func driveChromium(_ page: String, scripts: [String]) async throws -> [Any] {
    let (status, data) = try await JobThread.run(named: "chromium") { () throws -> (Int32?, Data) in
        let process = Process()
        process.executableURL = try findExecutable("python3")
        let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Servers/browser.py")
        process.arguments = [driver.path, page] + scripts
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        return (waitForExit(process, timeout: .seconds(60)), data)
    }
    guard status == 0, let results = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
        throw TestSetupError("browser.py failed: \(String(decoding: data, as: UTF8.self))")
    }
    return results
}
