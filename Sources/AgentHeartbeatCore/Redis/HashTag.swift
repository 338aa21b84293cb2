/// Redis Cluster hash tags: a key or shard channel whose name holds `{…}` (the first `{` and the
/// first `}` after it, with something between) is placed by that part only.
public enum HashTag {
    /// The tag of `name`, without its braces; nil when it has none.
    public static func of<Name: Collection<UInt8>>(_ name: Name) -> Name.SubSequence? {
        guard let open = name.firstIndex(of: UInt8(ascii: "{")) else { return nil }
        let rest = name[name.index(after: open)...]
        guard let close = rest.firstIndex(of: UInt8(ascii: "}")), close != rest.startIndex else { return nil }
        return rest[..<close]
    }

    /// Whether `name`'s tag is `tag`.
    public static func carries(_ name: some Collection<UInt8>, tag: String) -> Bool {
        of(name)?.elementsEqual(tag.utf8) ?? false
    }
}

extension MonitorConfiguration {
    /// Whether agents publish on `channel` with SPUBLISH (Redis 7 sharded pub/sub): it carries the
    /// deployment's hash tag, so in a Redis Cluster it lives on the node that holds the keys.
    public func isSharded(channel: some Collection<UInt8>) -> Bool { HashTag.carries(channel, tag: keyPrefix) }
}
