import AgentHeartbeatCore
import Testing

@testable import AgentHeartbeat

/// The subscriber's channel keys: an agent's key and the bytes of a message on its channel meet.
@Suite("Channel keys")
struct ChannelKeyTests {
    @Test(arguments: [nil, "custom:channel:é"])
    func anAgentsKeyEqualsAndHashesAsItsChannelsBytes(channel: String?) {
        let agent = MonitorConfiguration.Agent(id: "agent-0001", name: "A", channel: channel)
        let bytes = Array(agent.channel.utf8)
        bytes.withUnsafeBufferPointer { buffer in
            let borrowed = ChannelKey(borrowing: buffer)
            #expect(ChannelKey(agent) == borrowed)
            #expect(ChannelKey(agent).hashValue == borrowed.hashValue)
            #expect(ChannelKey(agent).bytes == bytes)
            let table = [ChannelKey(agent): 7]
            #expect(table[borrowed] == 7)
        }
        let other = Array("agents:heartbeat:agent-0002".utf8)
        other.withUnsafeBufferPointer { #expect(ChannelKey(agent) != ChannelKey(borrowing: $0)) }
    }
}
