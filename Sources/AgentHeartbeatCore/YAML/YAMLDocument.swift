internal import CYAML

/// A syntax error that libyaml reported, with the mark of the problem.
public struct YAMLSyntaxError: Error, Sendable, Equatable {
    public var message: String
    public var mark: YAMLMark
}

/// Composes YAML text into a `YAMLNode` tree with libyaml's document loader.
public enum YAMLDocument {
    /// Deeper nesting than this is refused, so an alias bomb cannot exhaust the stack.
    static let maximumDepth = 64

    /// Returns the root of the first document, or nil for an empty stream.
    public static func parse(_ text: String) throws(YAMLSyntaxError) -> YAMLNode? {
        // libyaml keeps pointers to the parser, the document and the input for the whole load,
        // so all three live on the heap until the `defer` below.
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let document = UnsafeMutablePointer<yaml_document_t>.allocate(capacity: 1)
        var input = Array(text.utf8)
        defer {
            parser.deallocate()
            document.deallocate()
        }
        guard yaml_parser_initialize(parser) == 1 else {
            throw YAMLSyntaxError(message: "libyaml could not allocate a parser", mark: YAMLMark(line: 1, column: 1))
        }
        defer { yaml_parser_delete(parser) }

        return try input.withUnsafeMutableBufferPointer { (buffer) throws(YAMLSyntaxError) -> YAMLNode? in
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            guard yaml_parser_load(parser, document) == 1 else {
                throw YAMLSyntaxError(parser: parser.pointee)
            }
            defer { yaml_document_delete(document) }
            guard let root = yaml_document_get_root_node(document) else { return nil }
            return try convert(root, in: document, depth: 0)
        }
    }

    private static func convert(
        _ node: UnsafeMutablePointer<yaml_node_t>,
        in document: UnsafeMutablePointer<yaml_document_t>,
        depth: Int
    ) throws(YAMLSyntaxError) -> YAMLNode {
        let mark = YAMLMark(node.pointee.start_mark)
        guard depth < maximumDepth else {
            throw YAMLSyntaxError(message: "nesting deeper than \(maximumDepth) levels", mark: mark)
        }
        func child(_ index: Int32) throws(YAMLSyntaxError) -> YAMLNode {
            guard let node = yaml_document_get_node(document, index) else {
                throw YAMLSyntaxError(message: "dangling node reference", mark: mark)
            }
            return try convert(node, in: document, depth: depth + 1)
        }

        switch node.pointee.type {
        case YAML_SCALAR_NODE:
            let scalar = node.pointee.data.scalar
            let bytes = UnsafeBufferPointer(start: scalar.value, count: scalar.length)
            let text = String(decoding: bytes, as: UTF8.self)
            return YAMLNode(kind: .scalar(text, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE), mark: mark)
        case YAML_SEQUENCE_NODE:
            var items: [YAMLNode] = []
            var item = node.pointee.data.sequence.items.start
            while let current = item, current != node.pointee.data.sequence.items.top {
                items.append(try child(current.pointee))
                item = current + 1
            }
            return YAMLNode(kind: .sequence(items), mark: mark)
        case YAML_MAPPING_NODE:
            var pairs: [YAMLNode.Pair] = []
            var pair = node.pointee.data.mapping.pairs.start
            while let current = pair, current != node.pointee.data.mapping.pairs.top {
                pairs.append(YAMLNode.Pair(key: try child(current.pointee.key), value: try child(current.pointee.value)))
                pair = current + 1
            }
            return YAMLNode(kind: .mapping(pairs), mark: mark)
        default:
            throw YAMLSyntaxError(message: "empty node", mark: mark)
        }
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
