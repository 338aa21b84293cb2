/// A channel name as a dictionary key. Stored keys own their bytes; a lookup borrows the bytes
/// inside hiredis' reply, so finding a message's agent allocates nothing. Hashed in one pass
/// (an array of bytes hashes element by element, which topped the subscriber's profile).
struct ChannelKey: Hashable {
    private let owned: [UInt8]
    private let borrowed: UnsafeBufferPointer<UInt8>?

    init(_ channel: [UInt8]) {
        owned = channel
        borrowed = nil
    }

    /// Valid only while `bytes` is.
    init(borrowing bytes: UnsafeBufferPointer<UInt8>) {
        owned = []
        borrowed = bytes
    }

    var bytes: [UInt8] { borrowed.map(Array.init) ?? owned }

    private func withBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        if let borrowed { body(UnsafeRawBufferPointer(borrowed)) } else { owned.withUnsafeBytes(body) }
    }

    static func == (lhs: ChannelKey, rhs: ChannelKey) -> Bool {
        lhs.withBytes { left in rhs.withBytes { right in left.elementsEqual(right) } }
    }

    func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }
}
