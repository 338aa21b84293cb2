internal import CYAML

/// A syntax error that libyaml reported, with the mark of the problem.
public struct YAMLSyntaxError: Error, Sendable, Equatable {
    public var message: String
    public var mark: YAMLMark
}

/// Composes YAML text into a `YAMLNode` tree from libyaml's event stream.
///
/// Built from events rather than with libyaml's document loader, so that libyaml's own node tree
/// never exists beside ours: for 100,000 agents the two together peaked at 173 MB. An alias
/// reuses the anchored node's value (copy on write), so aliases cannot multiply memory.
public enum YAMLDocument {
    /// Deeper nesting than this is refused.
    static let maximumDepth = 64

    /// A sequence or mapping being read: its items so far (keys and values alternate in a mapping).
    private struct Open {
        var isMapping: Bool
        var mark: YAMLMark
        var anchor: String?
        var items: [YAMLNode] = []
    }

    /// Returns the root of the first document, or nil for an empty stream.
    public static func parse(_ text: String) throws(YAMLSyntaxError) -> YAMLNode? {
        do {
            return try parse(text, streamingItemsOf: nil) { _ in }
        } catch let error as YAMLSyntaxError {
            throw error
        } catch {
            // Not thrown: the item handler above throws nothing.
            throw YAMLSyntaxError(message: "\(error)", mark: YAMLMark(line: 1, column: 1))
        }
    }

    /// Like `parse(_:)`, but each item of the list under the root mapping's key `streamedKey` is
    /// handed to `item` as soon as it is read and not kept: the list stays in the tree, empty.
    /// agents.yaml's agents are decoded one at a time, so 100,000 of them never exist as a tree
    /// at once. Throws a `YAMLSyntaxError` or what `item` throws.
    public static func parse(
        _ text: String,
        streamingItemsOf streamedKey: String?,
        item: (YAMLNode) throws -> Void
    ) throws -> YAMLNode? {
        // libyaml keeps pointers to the parser and the input for the whole parse, so both live on
        // the heap (the input in an array) until the `defer`s below.
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        var input = Array(text.utf8)
        defer {
            parser.deallocate()
            event.deallocate()
        }
        guard yaml_parser_initialize(parser) == 1 else {
            throw YAMLSyntaxError(message: "libyaml could not allocate a parser", mark: YAMLMark(line: 1, column: 1))
        }
        defer { yaml_parser_delete(parser) }

        return try input.withUnsafeMutableBufferPointer { (buffer) throws -> YAMLNode? in
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            var open: [Open] = []
            var anchors: [String: YAMLNode] = [:]
            var root: YAMLNode?

            /// Whether the innermost open node is the streamed list: the value of `streamedKey` in
            /// the root mapping (whose items then end in that key, its value still open).
            func inStreamedList() -> Bool {
                guard let streamedKey, open.count == 2, open[0].isMapping, !open[1].isMapping,
                    open[0].items.count % 2 == 1, case .scalar(let key, _) = open[0].items.last?.kind
                else { return false }
                return key == streamedKey
            }

            func add(_ node: YAMLNode, anchor: String?) throws {
                if let anchor { anchors[anchor] = node }
                if open.isEmpty {
                    root = node
                } else if inStreamedList() {
                    try item(node)
                } else {
                    open[open.count - 1].items.append(node)
                }
            }

            while true {
                guard yaml_parser_parse(parser, event) == 1 else { throw YAMLSyntaxError(parser: parser.pointee) }
                defer { yaml_event_delete(event) }
                let mark = YAMLMark(event.pointee.start_mark)
                switch event.pointee.type {
                case YAML_SCALAR_EVENT:
                    let scalar = event.pointee.data.scalar
                    let text = String(
                        decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length),
                        as: UTF8.self
                    )
                    try add(
                        YAMLNode(kind: .scalar(text, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE), mark: mark),
                        anchor: name(scalar.anchor)
                    )
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    guard open.count < maximumDepth else {
                        throw YAMLSyntaxError(message: "nesting deeper than \(maximumDepth) levels", mark: mark)
                    }
                    let isMapping = event.pointee.type == YAML_MAPPING_START_EVENT
                    let anchor =
                        isMapping
                        ? name(event.pointee.data.mapping_start.anchor) : name(event.pointee.data.sequence_start.anchor)
                    open.append(Open(isMapping: isMapping, mark: mark, anchor: anchor))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    let done = open.removeLast()
                    let kind: YAMLNode.Kind =
                        done.isMapping
                        ? .mapping(
                            stride(from: 0, to: done.items.count - 1, by: 2).map {
                                YAMLNode.Pair(key: done.items[$0], value: done.items[$0 + 1])
                            }
                        )
                        : .sequence(done.items)
                    try add(YAMLNode(kind: kind, mark: done.mark), anchor: done.anchor)
                case YAML_ALIAS_EVENT:
                    guard let anchor = name(event.pointee.data.alias.anchor), let node = anchors[anchor] else {
                        throw YAMLSyntaxError(message: "alias to an unknown anchor", mark: mark)
                    }
                    try add(node, anchor: nil)
                case YAML_DOCUMENT_END_EVENT, YAML_STREAM_END_EVENT:
                    // The first document only, as libyaml's loader reads it.
                    return root
                default:
                    continue  // stream and document starts
                }
            }
        }
    }

    private static func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        anchor.map { String(cString: $0) }
    }
}

extension YAMLMark {
    init(_ mark: yaml_mark_t) {
        self.init(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }
}

extension YAMLSyntaxError {
    /// Translates libyaml's error fields in one place.
    init(parser: yaml_parser_t) {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        if let context = parser.context.map({ String(cString: $0) }) {
            self.init(message: "\(problem) \(context)", mark: YAMLMark(parser.problem_mark))
        } else {
            self.init(message: problem, mark: YAMLMark(parser.problem_mark))
        }
    }
}
