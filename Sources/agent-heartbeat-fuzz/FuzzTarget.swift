import AgentHeartbeatCore
import AgentHeartbeatRedis

/// The code that reads what others write, by name: each `run` takes any bytes and must neither
/// crash nor hang. scripts/fuzz.sh runs them under libFuzzer from the seeds in Fuzz/corpus/.
enum FuzzTarget: String, CaseIterable {
    /// A heartbeat's payload as agents publish it, and the record the mirror stores from it.
    case payload
    /// agents.yaml.
    case agentsYAML = "agents-yaml"
    /// LUKA_REDIS_URL.
    case redisURL = "redis-url"
    /// What Redis sends: replies and pub/sub pushes in the wire format, and what is read from them.
    case redisReply = "redis-reply"
    /// Queued notifications and recovery action records read back, and agent text rendered for
    /// every receiver (each message within its limit).
    case notification

    func run(_ bytes: [UInt8]) {
        switch self {
        case .payload:
            let problem = HeartbeatPayload.problem(with: bytes)
            _ = HeartbeatPayload.parse(bytes)
            // The key's value: what the mirror's script stores around the fields.
            let fields = HeartbeatRecord.storedFields(payload: bytes, problem: problem)
            _ = HeartbeatRecord(stored: Array(#"{"received_at_ms":1,"#.utf8) + fields + [UInt8(ascii: "}")])
            _ = HeartbeatRecord(stored: bytes)
            _ = HeartbeatRecord.missingSince(stored: bytes)
            // What the writer reads from it for the script, and the script's history member.
            _ = HeartbeatFacts(storedFields: fields) { $0 == "error" }
            _ = bytes.withUnsafeBufferPointer { HeartbeatHistory($0) }
            _ = HeartbeatRecord(
                stored: Array(#"{"received_at_ms":1,"beats":""#.utf8) + bytes + Array(#"","payload":{}}"#.utf8)
            )
            _ = Silence(stored: bytes)
        case .notification:
            // What a receiver's queue and the recovery actions' hash hold, as Redis gives them back,
            // and an agent sending these bytes (and named so) in every receiver's format.
            let text = String(decoding: bytes, as: UTF8.self)
            _ = QueuedNotification(encoded: text)
            _ = RecoveryAction.Record(encoded: text)
            Self.renderEverywhere(payload: bytes, name: text)
        case .agentsYAML:
            _ = try? MonitorConfiguration(yaml: String(decoding: bytes, as: UTF8.self), file: "agents.yaml")
        case .redisURL:
            // Every form LUKA_REDIS_URL takes: one server, a cluster's seeds, Sentinel.
            if let endpoint = try? RedisEndpoint(parsing: String(decoding: bytes, as: UTF8.self)) {
                _ = endpoint.description
            }
            _ = SentinelSwitch(payload: bytes)
        case .redisReply:
            let replies = try? RedisReply.replies(inWireFormat: bytes) { push in
                _ = HeartbeatPayload.problem(with: push.payload)
            }
            for reply in replies ?? [] {
                _ = reply.shape
                _ = try? reply.serverMilliseconds()
                if case .string(let value) = reply { _ = HeartbeatRecord(stored: value) }
            }
            // The checker's scanner reads an array as hiredis does (differential).
            if let scanned = try? Self.scannedArray(bytes), case .array(let items)? = replies?.first {
                precondition(scanned == items.map(\.bytes), "the scanner and hiredis disagree")
            }
        }
    }

    /// The items of the array reply at the start of `bytes`, by `RedisArrayScanner`; nil when it is
    /// not an array or not all there.
    /// An offline alert about an agent that sent `payload` and is called `name`, in every format.
    static func renderEverywhere(payload: [UInt8], name: String) {
        let agent = MonitorConfiguration.Agent(id: "fuzz", name: name)
        let state = AgentState(agent: agent, record: HeartbeatRecord(receivedAt: 0, payload: payload), now: 600_000)
        let events = AlertPolicy(cooldown: .seconds(60)).events(states: [state], records: [:], now: 600_000)
        for kind in NotifierConfiguration.Kind.allCases {
            for notification in QueuedNotification.render(
                events,
                for: kind,
                now: 600_000,
                idPrefix: "f",
                keyPrefix: "agents",
                source: "fuzz"
            ) {
                precondition(QueuedNotification(encoded: notification.encoded) == notification)
            }
        }
        for format in MessageFormat.allCases {
            for message in AlertMessage.render(events, now: 600_000, format: format) {
                precondition(message.text.utf16.count <= format.maximumLength)
            }
        }
    }

    static func scannedArray(_ bytes: [UInt8]) throws(RedisError) -> [[UInt8]?]? {
        try bytes.withUnsafeBufferPointer { buffer throws(RedisError) in
            guard case .array(let count, var position) = RedisArrayScanner.header(in: buffer, at: 0) else { return nil }
            var items: [[UInt8]?] = []
            while items.count < count {
                guard let (value, end) = try RedisArrayScanner.item(in: buffer, at: position) else { return nil }
                items.append(value.map { Array(buffer[$0]) })
                position = end
            }
            return items
        }
    }
}
