import Foundation
import NIOConcurrencyHelpers

/// Exit statuses of children reaped here, by process id: Foundation never learns of those.
private let reaped = NIOLockedValueBox<[Int32: Int32]>([:])

/// Waits for a child process to end, and reaps it if Foundation has not. Foundation reaps children
/// when SIGCHLD arrives; several ending at once may send one, and a child can stay a zombie that
/// `waitUntilExit()` waits for forever (seen under ThreadSanitizer with many servers in parallel).
/// Returns its exit status (the signal's number if a signal ended it), or nil if it still runs
/// after `timeout`.
@discardableResult
func waitForExit(_ process: Process, timeout: Duration = .seconds(60)) -> Int32? {
    let pid = process.processIdentifier
    let deadline = ContinuousClock.now + timeout
    repeat {
        if let status = reaped.withLockedValue({ $0[pid] }) { return status }
        if !process.isRunning { return process.terminationStatus }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            let code = status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
            reaped.withLockedValue { $0[pid] = code }
            return code
        }
        usleep(10_000)
    } while ContinuousClock.now < deadline
    return nil
}
