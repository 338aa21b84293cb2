extension MonitorConfiguration {
    static let topLevelKeys = Set<String>([
        "offline_threshold_seconds", "check_interval_seconds", "alert_cooldown_seconds",
        "key_prefix", "key_ttl_seconds", "agents", "failing_statuses", "groups", "maintenance",
        "notifiers", "default_notifiers", "history_retention_seconds", "series_retention_minutes",
    ]).union(ruleKeys)
    static let agentKeys = Set<String>([
        "id", "name", "channel", "offline_threshold_seconds", "depends_on", "alert", "notify", "on_offline",
    ])
    .union(ruleKeys)
    /// Keys of `AgentRules`, global and per agent.
    static let ruleKeys: Set<String> = [
        "late_after_seconds", "alert_on_late", "failing_after_heartbeats", "max_restarts", "restart_window_seconds",
        "metrics",
    ]
    static let actionKeys: Set<String> = ["run", "webhook_env", "timeout_seconds", "max_attempts", "backoff_seconds"]
    static let groupKeys: Set<String> = ["id", "name", "members", "min_online", "notify"]
    static let maintenanceKeys: Set<String> = ["agents", "days", "start", "duration_minutes", "time_zone", "reason"]

    /// Parses and validates agents.yaml text; `file` only names the source in errors.
    public init(yaml text: String, file: String) throws(ConfigurationError) {
        var decoder = ConfigurationDecoder(file: file)
        let root: YAMLNode?
        do {
            // Each agent is decoded as soon as it is read (see `YAMLDocument.parse(_:streamingItemsOf:item:)`).
            root = try YAMLDocument.parse(text, streamingItemsOf: "agents") { item in decoder.stream(item) }
        } catch {
            let error =
                error as? YAMLSyntaxError ?? YAMLSyntaxError(message: "\(error)", mark: YAMLMark(line: 1, column: 1))
            throw ConfigurationError(
                code: .syntax,
                file: file,
                line: error.mark.line,
                column: error.mark.column,
                keyPath: "",
                message: "YAML syntax error: \(error.message)"
            )
        }
        guard let root else {
            throw ConfigurationError(
                code: .missingKey,
                file: file,
                line: 1,
                column: 1,
                keyPath: "agents",
                message: "the file is empty; it needs at least an `agents:` list"
            )
        }
        self = try decoder.decodeConfiguration(root)
    }
}

/// Walks the YAML tree, turning every mistake into a `ConfigurationError` at its node.
struct ConfigurationDecoder {
    let file: String
    /// The agents decoded so far, in order, and whether each set its own threshold (the others
    /// take the global one, which may come later in the file).
    var agents: [MonitorConfiguration.Agent] = []
    var hasOwnThreshold: [Bool] = []
    /// Where each id and channel was first seen, for duplicate errors.
    var idMarks: [String: YAMLMark] = [:]
    var channelMarks: [String: YAMLMark] = [:]
    var overrides: [(node: YAMLNode, path: String, threshold: Duration)] = []
    /// Agents that set rule keys of their own, applied over the global ones at the end.
    var ruleOverrides: [(index: Int, overrides: RuleOverrides)] = []
    /// `depends_on` lists, checked once every id is known.
    var dependencyNodes: [(id: String, path: String, items: [YAMLNode])] = []
    /// `notify` lists, checked once the notifiers are known.
    var notifyNodes: [(path: String, node: YAMLNode)] = []
    /// The first mistake in a streamed agent: reported where the tree would have reported it, after
    /// syntax errors anywhere in the file and mistakes in the top-level keys.
    var agentError: ConfigurationError?

    init(file: String) {
        self.file = file
    }

    func error(
        _ code: ConfigurationError.Code,
        at node: YAMLNode,
        _ keyPath: String,
        _ message: String
    ) -> ConfigurationError {
        ConfigurationError(
            code: code,
            file: file,
            line: node.mark.line,
            column: node.mark.column,
            keyPath: keyPath,
            message: message
        )
    }

    /// The pairs of a mapping as `key → (key node, value node)`, refusing unknown and repeated keys.
    func mapping(
        _ node: YAMLNode,
        at keyPath: String,
        allowed: Set<String>
    ) throws(ConfigurationError) -> [String: YAMLNode.Pair] {
        guard case .mapping(let pairs) = node.kind else {
            throw error(.wrongType, at: node, keyPath, "expected a mapping, found \(node.kindDescription)")
        }
        var result: [String: YAMLNode.Pair] = [:]
        for pair in pairs {
            let childPath = keyPath.isEmpty ? "" : keyPath + "."
            guard case .scalar(let key, _) = pair.key.kind else {
                throw error(
                    .wrongType,
                    at: pair.key,
                    keyPath,
                    "keys must be plain words, found \(pair.key.kindDescription)"
                )
            }
            guard allowed.contains(key) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw error(.unknownKey, at: pair.key, childPath + key, "unknown key \"\(key)\" (known keys: \(known))")
            }
            if let first = result[key] {
                throw error(
                    .duplicateKey,
                    at: pair.key,
                    childPath + key,
                    "key repeated (first set on line \(first.key.mark.line))"
                )
            }
            result[key] = pair
        }
        return result
    }

    func seconds(_ node: YAMLNode, at keyPath: String) throws(ConfigurationError) -> Duration {
        guard case .scalar(let text, let plain) = node.kind, plain, !text.isEmpty else {
            let found = if case .scalar(_, false) = node.kind { "quoted text" } else { node.kindDescription }
            throw error(.wrongType, at: node, keyPath, "expected a whole number of seconds, found \(found)")
        }
        guard let value = Int64(text) else {
            throw error(.wrongType, at: node, keyPath, "expected a whole number of seconds, found \"\(text)\"")
        }
        guard value >= 1 else {
            throw error(.invalidValue, at: node, keyPath, "must be at least 1 second, found \(value)")
        }
        guard value <= 315_360_000 else {
            throw error(
                .invalidValue,
                at: node,
                keyPath,
                "must be at most 315360000 seconds (10 years), found \(value)"
            )
        }
        return .seconds(value)
    }

    func text(_ node: YAMLNode, at keyPath: String) throws(ConfigurationError) -> String {
        guard case .scalar(let text, let plain) = node.kind else {
            throw error(.wrongType, at: node, keyPath, "expected text, found \(node.kindDescription)")
        }
        if plain, text.isEmpty || text == "~" || text == "null" {
            throw error(.invalidValue, at: node, keyPath, "must not be empty")
        }
        return text
    }

    mutating func decodeConfiguration(_ root: YAMLNode) throws(ConfigurationError) -> MonitorConfiguration {
        let keys = try mapping(root, at: "", allowed: MonitorConfiguration.topLevelKeys)
        var config = MonitorConfiguration()
        if let pair = keys["offline_threshold_seconds"] {
            config.offlineThreshold = try seconds(pair.value, at: "offline_threshold_seconds")
        }
        if let pair = keys["check_interval_seconds"] {
            config.checkInterval = try seconds(pair.value, at: "check_interval_seconds")
        }
        if let pair = keys["alert_cooldown_seconds"] {
            config.alertCooldown = try seconds(pair.value, at: "alert_cooldown_seconds")
        }
        if let pair = keys["key_prefix"] {
            let prefix = try text(pair.value, at: "key_prefix")
            guard
                prefix.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "{") && $0 != UInt8(ascii: "}") })
            else {
                throw error(
                    .invalidValue,
                    at: pair.value,
                    "key_prefix",
                    "must be printable ASCII without spaces or braces (keys are named {key_prefix}:…)"
                )
            }
            config.keyPrefix = prefix
        }
        if let pair = keys["key_ttl_seconds"] {
            config.keyTTL = try seconds(pair.value, at: "key_ttl_seconds")
        }
        if let pair = keys["history_retention_seconds"] {
            config.historyRetention = try seconds(pair.value, at: "history_retention_seconds")
        }
        if let pair = keys["series_retention_minutes"] {
            config.seriesRetentionMinutes = try count(pair.value, at: "series_retention_minutes", in: 0...44_640)
        }
        if let pair = keys["failing_statuses"] {
            config.failingStatuses = Set(try texts(pair.value, at: "failing_statuses").map { $0.lowercased() })
        }
        config.rules = [try ruleOverrides(keys, at: "").applied(to: AgentRules())]
        guard let agentsPair = keys["agents"] else {
            throw error(
                .missingKey,
                at: root,
                "agents",
                "missing required key \"agents\" (the list of agents to monitor)"
            )
        }
        guard case .sequence(let items) = agentsPair.value.kind else {
            throw error(
                .wrongType,
                at: agentsPair.value,
                "agents",
                "expected a list of agents, found \(agentsPair.value.kindDescription)"
            )
        }

        if let agentError { throw agentError }
        // Agents in a list that was not streamed (an alias to a list, say) are decoded here.
        for item in items { try decodeAgent(item) }
        // A copy of the exact size (appending left up to half of it unused: 2 MB at 100,000 agents);
        // now the only reference, so the loop below edits it in place.
        config.agents = agents.withUnsafeBufferPointer { Array($0) }
        agents = []
        for index in config.agents.indices where !hasOwnThreshold[index] {
            config.agents[index].offlineThreshold = config.offlineThreshold
        }
        var ruleIndices: [AgentRules: Int32] = [config.rules[0]: 0]
        for (index, overrides) in ruleOverrides {
            let rules = overrides.applied(to: config.rules[0])
            let found = ruleIndices[rules] ?? Int32(config.rules.count)
            if found == config.rules.count {
                config.rules.append(rules)
                ruleIndices[rules] = found
            }
            config.agents[index].rulesIndex = found
        }
        ruleOverrides = []
        config.dependencies = try decodeDependencies(of: config.agents)
        if let pair = keys["notifiers"] { config.notifiers = try decodeNotifiers(pair.value) }
        if let pair = keys["default_notifiers"] {
            config.defaultNotifiers = try notifierNames(pair.value, at: "default_notifiers", known: config.notifiers)
        }
        for (path, node) in notifyNodes { _ = try notifierNames(node, at: path, known: config.notifiers) }
        notifyNodes = []
        if let pair = keys["groups"] {
            config.groups = try decodeGroups(pair.value, agents: config.agents, notifiers: config.notifiers)
        }
        if let pair = keys["maintenance"] {
            config.maintenance = try decodeMaintenance(pair.value, agents: config.agents, groups: config.groups)
        }

        // A key that expires before its agent counts as offline would turn offline agents into unknown ones.
        let ttlNode = keys["key_ttl_seconds"]?.value ?? root
        if config.keyTTL <= config.offlineThreshold {
            throw error(
                .ttlTooShort,
                at: ttlNode,
                "key_ttl_seconds",
                "must be above offline_threshold_seconds (\(config.offlineThreshold.wholeSeconds)),"
                    + " found \(config.keyTTL.wholeSeconds)"
            )
        }
        for (node, path, threshold) in overrides where config.keyTTL <= threshold {
            throw error(
                .ttlTooShort,
                at: node,
                path,
                "must be below key_ttl_seconds (\(config.keyTTL.wholeSeconds)), found \(threshold.wholeSeconds)"
            )
        }
        return config
    }

    /// Decodes one streamed item of `agents`; after a mistake, the rest are only parsed.
    mutating func stream(_ item: YAMLNode) {
        guard agentError == nil else { return }
        do {
            try decodeAgent(item)
        } catch {
            agentError = error
        }
    }

    /// Decodes and checks one item of `agents`.
    mutating func decodeAgent(_ item: YAMLNode) throws(ConfigurationError) {
        let path = "agents[\(agents.count)]"
        let fields = try mapping(item, at: path, allowed: MonitorConfiguration.agentKeys)
        guard let idPair = fields["id"] else {
            throw error(.missingKey, at: item, path + ".id", "missing required key \"id\"")
        }
        let id = try text(idPair.value, at: path + ".id")
        guard id.utf8.allSatisfy(Self.isIDByte) else {
            throw error(
                .invalidValue,
                at: idPair.value,
                path + ".id",
                "\"\(id)\" may only contain a-z, 0-9, _ and -"
            )
        }
        if let first = idMarks[id] {
            throw error(
                .duplicateID,
                at: idPair.value,
                path + ".id",
                "duplicate id \"\(id)\" (first used on line \(first.line))"
            )
        }
        idMarks[id] = idPair.value.mark
        guard let namePair = fields["name"] else {
            throw error(.missingKey, at: item, path + ".name", "missing required key \"name\" for agent \"\(id)\"")
        }
        var agent = MonitorConfiguration.Agent(id: id, name: try text(namePair.value, at: path + ".name"))
        if let pair = fields["channel"] {
            agent.channel = try text(pair.value, at: path + ".channel")
        }
        let channelNode = fields["channel"]?.value ?? idPair.value
        let channel = agent.channel
        if let first = channelMarks[channel] {
            throw error(
                .duplicateChannel,
                at: channelNode,
                path + ".channel",
                "channel \"\(channel)\" is already used by the agent on line \(first.line)"
            )
        }
        channelMarks[channel] = channelNode.mark
        if let pair = fields["offline_threshold_seconds"] {
            agent.offlineThreshold = try seconds(pair.value, at: path + ".offline_threshold_seconds")
            overrides.append((pair.value, path + ".offline_threshold_seconds", agent.offlineThreshold))
        }
        hasOwnThreshold.append(fields["offline_threshold_seconds"] != nil)
        let overrides = try ruleOverrides(fields, at: path)
        if overrides != RuleOverrides() { ruleOverrides.append((agents.count, overrides)) }
        if let pair = fields["notify"] { notifyNodes.append((path + ".notify", pair.value)) }
        if let pair = fields["depends_on"] {
            dependencyNodes.append((id, path + ".depends_on", try list(pair.value, at: path + ".depends_on")))
        }
        agents.append(agent)
    }

    static func isIDByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}
