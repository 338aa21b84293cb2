/// A position in a YAML file, 1-based as editors show it.
public struct YAMLMark: Sendable, Hashable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// A YAML node as libyaml composed it, with the mark where it starts.
public struct YAMLNode: Sendable, Equatable {
    public indirect enum Kind: Sendable, Equatable {
        /// `plain` is false for quoted and block scalars: `"300"` is text, `300` a number.
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        case mapping([Pair])
    }

    public struct Pair: Sendable, Equatable {
        public var key: YAMLNode
        public var value: YAMLNode
    }

    public var kind: Kind
    public var mark: YAMLMark

    /// The kind in words, for error messages ("expected an integer, found a mapping").
    var kindDescription: String {
        switch kind {
        case .scalar(let text, _): text.isEmpty || text == "~" || text == "null" ? "nothing" : "text"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }
}
