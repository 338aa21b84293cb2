/// What an agent's heartbeat payload says, once read as a JSON object.
public struct HeartbeatPayload: Sendable, Equatable {
    /// The payload's `status` field, when it is text.
    public var reportedStatus: String?
    /// The payload's `timestamp` field, as the agent sent it.
    public var reportedAt: JSONValue?
    /// Every other field. The latest heartbeat replaces the previous metadata.
    public var metadata: [String: JSONValue]

    public init(reportedStatus: String? = nil, reportedAt: JSONValue? = nil, metadata: [String: JSONValue] = [:]) {
        self.reportedStatus = reportedStatus
        self.reportedAt = reportedAt
        self.metadata = metadata
    }

    /// Payloads above this size still count as a heartbeat but are not stored or read.
    public static let maximumSize = 64 * 1024

    /// Why a payload could not be read; the heartbeat still counts (the agent is alive).
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case tooLarge(bytes: Int)
        case notJSON
        case notAnObject

        public var description: String {
            switch self {
            case .tooLarge(let bytes): "payload of \(bytes) bytes is larger than the 65536-byte limit"
            case .notJSON: "payload is not valid JSON"
            case .notAnObject: "payload is JSON but not an object"
            }
        }
    }

    /// Why a payload cannot be used, or nil when it is a JSON object within the size limit.
    /// The mirror's check for every message: the same verdict as `parse`, without building values.
    public static func problem(with bytes: [UInt8]) -> Problem? {
        bytes.withUnsafeBufferPointer { problem(with: $0) }
    }

    public static func problem(with bytes: UnsafeBufferPointer<UInt8>) -> Problem? {
        guard bytes.count <= maximumSize else { return .tooLarge(bytes: bytes.count) }
        let isObject = try? JSONParser.isObject(bytes)
        switch isObject {
        case true: return nil
        case false: return .notAnObject
        default: return .notJSON
        }
    }

    /// Reads a payload as published. Pure: the checker uses it for the map.
    public static func parse(_ bytes: some Collection<UInt8>) -> Result<HeartbeatPayload, Problem> {
        guard bytes.count <= maximumSize else { return .failure(.tooLarge(bytes: bytes.count)) }
        let parsed =
            bytes.withContiguousStorageIfAvailable { buffer in try? JSONParser.parse(buffer) }
            ?? Array(bytes).withUnsafeBufferPointer { buffer in try? JSONParser.parse(buffer) }
        guard let value = parsed else { return .failure(.notJSON) }
        guard case .object(var fields) = value else { return .failure(.notAnObject) }
        var payload = HeartbeatPayload()
        if case .string(let status) = fields["status"] {
            payload.reportedStatus = status
            fields["status"] = nil
        }
        if let timestamp = fields.removeValue(forKey: "timestamp") {
            payload.reportedAt = timestamp
        }
        payload.metadata = fields
        return .success(payload)
    }
}
