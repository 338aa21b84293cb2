/// `notifiers`, `default_notifiers` and the `notify` lists of agents and groups.
extension ConfigurationDecoder {
    func decodeNotifiers(_ node: YAMLNode) throws(ConfigurationError) -> [NotifierConfiguration] {
        var notifiers: [NotifierConfiguration] = []
        for (position, item) in try list(node, at: "notifiers").enumerated() {
            let path = "notifiers[\(position)]"
            guard case .mapping(let pairs) = item.kind else {
                throw error(.wrongType, at: item, path, "expected a mapping, found \(item.kindDescription)")
            }
            // The type says which keys are allowed: read it first.
            let typeNode = pairs.first { if case .scalar("type", _) = $0.key.kind { true } else { false } }?.value
            guard let typeNode else {
                throw error(.missingKey, at: item, path + ".type", "missing required key \"type\"")
            }
            let typeName = try text(typeNode, at: path + ".type")
            guard let kind = NotifierConfiguration.Kind(rawValue: typeName) else {
                let known = NotifierConfiguration.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                throw error(
                    .invalidValue,
                    at: typeNode,
                    path + ".type",
                    "unknown type \"\(typeName)\" (known: \(known))"
                )
            }
            let keys = NotifierConfiguration.keys(of: kind)
            let roles = keys.optional + keys.required
            let allowed = Set(["name", "type", "timeout_seconds", "max_age_seconds"] + keys.other)
                .union(roles.map { $0.rawValue + "_env" })
            let fields = try mapping(item, at: path, allowed: allowed)
            guard let namePair = fields["name"] else {
                throw error(.missingKey, at: item, path + ".name", "missing required key \"name\"")
            }
            let name = try text(namePair.value, at: path + ".name")
            guard name.utf8.count <= 64, name.utf8.allSatisfy(Self.isIDByte) else {
                throw error(
                    .invalidValue,
                    at: namePair.value,
                    path + ".name",
                    "\"\(name)\" may only contain a-z, 0-9, _ and - (at most 64)"
                )
            }
            guard !notifiers.contains(where: { $0.name == name }) else {
                throw error(.duplicateID, at: namePair.value, path + ".name", "notifier \"\(name)\" is already defined")
            }
            var notifier = NotifierConfiguration(name: name, kind: kind)
            for role in roles {
                let key = role.rawValue + "_env"
                if let pair = fields[key] {
                    notifier.variables[role] = try variable(pair.value, at: "\(path).\(key)")
                } else if keys.required.contains(role) {
                    throw error(
                        .missingKey,
                        at: item,
                        "\(path).\(key)",
                        "missing required key \"\(key)\": the environment variable that holds the \(role.rawValue)"
                    )
                } else if let name = NotifierConfiguration.defaultVariable(role) {
                    notifier.variables[role] = .init(name: name, keyPath: "\(path).\(key)", line: item.mark.line)
                }
            }
            if let pair = fields["timeout_seconds"] {
                notifier.timeout = .seconds(try count(pair.value, at: path + ".timeout_seconds", in: 1...300))
            }
            if let pair = fields["max_age_seconds"] {
                notifier.maximumAge = try seconds(pair.value, at: path + ".max_age_seconds")
            }
            if kind == .email { try decodeMail(fields, item: item, at: path, into: &notifier) }
            notifiers.append(notifier)
        }
        return notifiers
    }

    /// `from` (one address) and `to` (one or a list).
    private func decodeMail(
        _ fields: [String: YAMLNode.Pair],
        item: YAMLNode,
        at path: String,
        into notifier: inout NotifierConfiguration
    ) throws(ConfigurationError) {
        for key in ["from", "to"] where fields[key] == nil {
            throw error(.missingKey, at: item, "\(path).\(key)", "missing required key \"\(key)\"")
        }
        let fromNode = fields["from"]!.value
        notifier.from = try address(fromNode, at: path + ".from")
        let toNode = fields["to"]!.value
        if case .sequence(let items) = toNode.kind {
            guard !items.isEmpty else { throw error(.invalidValue, at: toNode, path + ".to", "must not be empty") }
            for (position, item) in items.enumerated() {
                notifier.to.append(try address(item, at: "\(path).to[\(position)]"))
            }
        } else {
            notifier.to = [try address(toNode, at: path + ".to")]
        }
    }

    /// An agent's `on_offline` list.
    func recoveryActions(_ node: YAMLNode, at path: String) throws(ConfigurationError) -> [RecoveryAction] {
        var actions: [RecoveryAction] = []
        for (position, item) in try list(node, at: path).enumerated() {
            let itemPath = "\(path)[\(position)]"
            let fields = try mapping(item, at: itemPath, allowed: MonitorConfiguration.actionKeys)
            var action: RecoveryAction
            switch (fields["run"], fields["webhook_env"]) {
            case (let run?, nil):
                let argv = try texts(run.value, at: itemPath + ".run")
                guard !argv.isEmpty else {
                    throw error(.invalidValue, at: run.value, itemPath + ".run", "needs the program to run")
                }
                // NUL cannot be passed in an argument; anything else is passed as written, no shell.
                guard argv.allSatisfy({ !$0.utf8.contains(0) }) else {
                    throw error(.invalidValue, at: run.value, itemPath + ".run", "arguments cannot hold NUL")
                }
                action = RecoveryAction(.run(argv))
            case (nil, let webhook?):
                action = RecoveryAction(.webhook(try variable(webhook.value, at: itemPath + ".webhook_env")))
            default:
                throw error(
                    .invalidValue,
                    at: item,
                    itemPath,
                    "needs exactly one of \"run\" (a list) and \"webhook_env\""
                )
            }
            if let pair = fields["timeout_seconds"] {
                action.timeout = .seconds(try count(pair.value, at: itemPath + ".timeout_seconds", in: 1...3600))
            }
            if let pair = fields["max_attempts"] {
                action.maxAttempts = try count(pair.value, at: itemPath + ".max_attempts", in: 1...100)
            }
            if let pair = fields["backoff_seconds"] {
                action.backoff = try seconds(pair.value, at: itemPath + ".backoff_seconds")
            }
            actions.append(action)
        }
        return actions
    }

    /// A bare address: `name@host`, nothing that could end a header or an SMTP command.
    private func address(_ node: YAMLNode, at path: String) throws(ConfigurationError) -> String {
        let value = try text(node, at: path)
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        let plain = value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && !Array("<>,;\"\\".utf8).contains($0) }
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, plain, value.utf8.count <= 254 else {
            throw error(.invalidValue, at: node, path, "\"\(value)\" is not an email address like ops@example.com")
        }
        return value
    }

    /// The name of an environment variable (never its value: agents.yaml holds no secret).
    func variable(
        _ node: YAMLNode,
        at path: String
    ) throws(ConfigurationError) -> NotifierConfiguration.Variable {
        let name = try text(node, at: path)
        let valid =
            name.utf8.first.map { !($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) } == true
            && name.utf8.allSatisfy {
                ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                    || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
                    || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_")
            }
        guard valid else {
            throw error(
                .invalidValue,
                at: node,
                path,
                "expected the name of an environment variable (like SLACK_WEBHOOK_URL), not a value"
            )
        }
        return .init(name: name, keyPath: path, line: node.mark.line, column: node.mark.column)
    }

    /// A list of notifier names, each defined in `notifiers`.
    func notifierNames(
        _ node: YAMLNode,
        at path: String,
        known: [NotifierConfiguration]
    ) throws(ConfigurationError) -> [String] {
        var names: [String] = []
        for (position, item) in try list(node, at: path).enumerated() {
            let name = try text(item, at: "\(path)[\(position)]")
            guard known.contains(where: { $0.name == name }) else {
                let defined =
                    known.isEmpty ? "no notifiers are defined" : "defined: " + known.map(\.name).joined(separator: ", ")
                throw error(
                    .invalidValue,
                    at: item,
                    "\(path)[\(position)]",
                    "no notifier is named \"\(name)\" (\(defined))"
                )
            }
            if !names.contains(name) { names.append(name) }
        }
        return names
    }
}
