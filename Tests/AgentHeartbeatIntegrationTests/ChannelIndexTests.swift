import AgentHeartbeatCore
import Testing

@testable import AgentHeartbeat

/// The subscriber's channel → slot table: every channel found, nothing else, however the hashes
/// of a full table collide.
@Suite("Channel index")
struct ChannelIndexTests {
    @Test(arguments: [1, 7, 1000, 20000])
    func findsEveryChannelAndNoOther(count: Int) {
        let channels = (0..<count).map { index in
            ChannelKey(.init(id: "agent-\(index)", name: "A", channel: index % 3 == 0 ? "custom:\(index)" : nil))
        }
        var index = ChannelIndex(capacity: count)
        // Slots in another order than the channels, as after reloads.
        for (slot, channel) in channels.enumerated().reversed() { index.insert(slot, channel: channel) }
        #expect(index.count == count)
        #expect(index.slots.sorted() == Array(0..<count))
        for (slot, channel) in channels.enumerated() {
            let bytes = channel.bytes
            let found = bytes.withUnsafeBufferPointer { buffer in
                index.slot(for: ChannelKey(borrowing: buffer)) { channels[$0] }
            }
            #expect(found == slot)
        }
        let stranger = Array("agents:heartbeat:stranger".utf8)
        #expect(stranger.withUnsafeBufferPointer { index.slot(for: ChannelKey(borrowing: $0)) { channels[$0] } } == nil)
    }
}
