import Foundation
import Testing

/// The test servers themselves: a fault in them shows up as a flaky failure of some other test.
@Suite("Test servers")
struct FakeReceiverTests {
    /// Found in CI: two tests running beside a receivers test failed with "connection to Redis lost:
    /// Bad file descriptor". `stop()` closed the listener, and `deinit` closed its number again after
    /// a Redis connection of another test had taken it.
    @Test func aStoppedReceiverNeverClosesADescriptorItNoLongerOwns() async throws {
        // Tests beside this one open descriptors too: tried until this one takes the freed number.
        for _ in 0..<50 {
            var receiver: FakeReceiver? = try FakeReceiver()
            weak let released = receiver
            let number = receiver!.listener
            receiver!.stop()
            receiver = nil
            // The kernel hands out the lowest free number, as it did to the other test's connection.
            let taken = open("/dev/null", O_RDONLY | O_CLOEXEC)
            defer { close(taken) }
            try await eventually("the receiver is released once its thread has ended") { released == nil }
            guard taken == number else { continue }
            #expect(fcntl(taken, F_GETFD) != -1, "descriptor \(number) was closed by the released receiver")
            return
        }
        Issue.record("another thread took the freed descriptor first, 50 times")
    }
}
