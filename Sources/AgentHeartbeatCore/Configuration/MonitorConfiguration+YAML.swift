extension MonitorConfiguration {
    static let topLevelKeys = Set<String>([
        "offline_threshold_seconds", "check_interval_seconds", "alert_cooldown_seconds",
        "key_prefix", "key_ttl_seconds", "agents", "failing_statuses", "groups", "maintenance",
    ]).union(ruleKeys)
    static let agentKeys = Set<String>(["id", "name", "channel", "offline_threshold_seconds", "depends_on", "alert"])
        .union(ruleKeys)
    /// Keys of `AgentRules`, global and per agent.
    static let ruleKeys: Set<String> = [
        "late_after_seconds", "alert_on_late", "failing_after_heartbeats", "max_restarts", "restart_window_seconds",
    ]
    static let groupKeys: Set<String> = ["id", "name", "members", "min_online"]
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
private struct ConfigurationDecoder {
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

    func count(_ node: YAMLNode, at keyPath: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard case .scalar(let text, true) = node.kind, let value = Int(text) else {
            throw error(.wrongType, at: node, keyPath, "expected a whole number, found \(node.kindDescription)")
        }
        guard range.contains(value) else {
            throw error(
                .invalidValue,
                at: node,
                keyPath,
                "must be from \(range.lowerBound) to \(range.upperBound), found \(value)"
            )
        }
        return value
    }

    func flag(_ node: YAMLNode, at keyPath: String) throws(ConfigurationError) -> Bool {
        guard case .scalar(let text, true) = node.kind, ["true", "false"].contains(text.lowercased()) else {
            throw error(.wrongType, at: node, keyPath, "expected true or false, found \(node.kindDescription)")
        }
        return text.lowercased() == "true"
    }

    func list(_ node: YAMLNode, at keyPath: String) throws(ConfigurationError) -> [YAMLNode] {
        guard case .sequence(let items) = node.kind else {
            throw error(.wrongType, at: node, keyPath, "expected a list, found \(node.kindDescription)")
        }
        return items
    }

    func texts(_ node: YAMLNode, at keyPath: String) throws(ConfigurationError) -> [String] {
        var result: [String] = []
        for (position, item) in try list(node, at: keyPath).enumerated() {
            result.append(try text(item, at: "\(keyPath)[\(position)]"))
        }
        return result
    }

    /// The rule keys present in `fields`, at `path` (empty for the top level).
    func ruleOverrides(_ fields: [String: YAMLNode.Pair], at path: String) throws(ConfigurationError) -> RuleOverrides {
        let prefix = path.isEmpty ? "" : path + "."
        var overrides = RuleOverrides()
        if let pair = fields["late_after_seconds"] {
            overrides.lateAfter = try seconds(pair.value, at: prefix + "late_after_seconds")
        }
        if let pair = fields["alert_on_late"] {
            overrides.alertOnLate = try flag(pair.value, at: prefix + "alert_on_late")
        }
        if let pair = fields["failing_after_heartbeats"] {
            overrides.failingAfterHeartbeats = try count(
                pair.value,
                at: prefix + "failing_after_heartbeats",
                in: 1...1000
            )
        }
        if let pair = fields["max_restarts"] {
            overrides.maxRestarts = try count(
                pair.value,
                at: prefix + "max_restarts",
                in: 1...AgentRules.maximumMaxRestarts
            )
        }
        if let pair = fields["restart_window_seconds"] {
            overrides.restartWindow = try seconds(pair.value, at: prefix + "restart_window_seconds")
        }
        if let pair = fields["alert"] {
            overrides.alerts = try flag(pair.value, at: prefix + "alert")
        }
        return overrides
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
        if let pair = keys["groups"] { config.groups = try decodeGroups(pair.value, agents: config.agents) }
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
        if let pair = fields["depends_on"] {
            dependencyNodes.append((id, path + ".depends_on", try list(pair.value, at: path + ".depends_on")))
        }
        agents.append(agent)
    }

    /// `depends_on` of every agent: known ids, not itself, no cycle.
    func decodeDependencies(of agents: [MonitorConfiguration.Agent]) throws(ConfigurationError) -> [String: [String]] {
        guard !dependencyNodes.isEmpty else { return [:] }
        let known = Set(agents.map(\.id))
        var dependencies: [String: [String]] = [:]
        var nodes: [String: (path: String, items: [YAMLNode])] = [:]
        for (id, path, items) in dependencyNodes {
            var ids: [String] = []
            for (position, item) in items.enumerated() {
                let itemPath = "\(path)[\(position)]"
                let dependency = try text(item, at: itemPath)
                guard known.contains(dependency) else {
                    throw error(.invalidValue, at: item, itemPath, "no agent has the id \"\(dependency)\"")
                }
                guard dependency != id else {
                    throw error(.invalidValue, at: item, itemPath, "an agent cannot depend on itself")
                }
                if !ids.contains(dependency) { ids.append(dependency) }
            }
            dependencies[id] = ids
            nodes[id] = (path, items)
        }
        // Depth-first: an agent met again while its own dependencies are being walked closes a cycle.
        var state: [String: Bool] = [:]  // false: being walked, true: done
        func walk(_ id: String, _ path: [String]) throws(ConfigurationError) {
            if state[id] == true { return }
            if state[id] == false {
                let cycle = (path.drop { $0 != id } + [id]).joined(separator: " → ")
                let first = path.drop { $0 != id }.first ?? id
                let (path, items) = nodes[first]!  // an agent in a cycle has dependencies
                throw error(.invalidValue, at: items[0], path, "dependencies form a cycle: \(cycle)")
            }
            state[id] = false
            for dependency in dependencies[id] ?? [] { try walk(dependency, path + [id]) }
            state[id] = true
        }
        for (id, _, _) in dependencyNodes { try walk(id, []) }
        return dependencies
    }

    func decodeGroups(_ node: YAMLNode, agents: [MonitorConfiguration.Agent]) throws(ConfigurationError) -> [AgentGroup]
    {
        let ids = Set(agents.map(\.id))
        var groups: [AgentGroup] = []
        for (position, item) in try list(node, at: "groups").enumerated() {
            let path = "groups[\(position)]"
            let fields = try mapping(item, at: path, allowed: MonitorConfiguration.groupKeys)
            for key in ["id", "name", "members", "min_online"] where fields[key] == nil {
                throw error(.missingKey, at: item, "\(path).\(key)", "missing required key \"\(key)\"")
            }
            let idNode = fields["id"]!.value
            let id = try text(idNode, at: path + ".id")
            guard id.utf8.allSatisfy(Self.isIDByte) else {
                throw error(.invalidValue, at: idNode, path + ".id", "\"\(id)\" may only contain a-z, 0-9, _ and -")
            }
            guard !ids.contains(id), !groups.contains(where: { $0.id == id }) else {
                throw error(.duplicateID, at: idNode, path + ".id", "\"\(id)\" is already the id of an agent or group")
            }
            let name = try text(fields["name"]!.value, at: path + ".name")
            var members: Set<String> = []
            let patterns = fields["members"]!.value
            for (number, pattern) in try list(patterns, at: path + ".members").enumerated() {
                let memberPath = "\(path).members[\(number)]"
                let glob = try text(pattern, at: memberPath)
                let matched = agents.lazy.map(\.id).filter { globMatches(glob, $0) }
                guard !matched.isEmpty else {
                    throw error(.invalidValue, at: pattern, memberPath, "\"\(glob)\" matches no agent")
                }
                members.formUnion(matched)
            }
            let minOnline = try count(
                fields["min_online"]!.value,
                at: path + ".min_online",
                in: 1...max(1, members.count)
            )
            let ordered = agents.map(\.id).filter(members.contains)
            groups.append(AgentGroup(id: id, name: name, members: ordered, minOnline: minOnline))
        }
        return groups
    }

    func decodeMaintenance(
        _ node: YAMLNode,
        agents: [MonitorConfiguration.Agent],
        groups: [AgentGroup]
    ) throws(ConfigurationError) -> [MaintenanceWindow] {
        var windows: [MaintenanceWindow] = []
        for (position, item) in try list(node, at: "maintenance").enumerated() {
            let path = "maintenance[\(position)]"
            let fields = try mapping(item, at: path, allowed: MonitorConfiguration.maintenanceKeys)
            for key in ["agents", "days", "start", "duration_minutes", "time_zone"] where fields[key] == nil {
                throw error(.missingKey, at: item, "\(path).\(key)", "missing required key \"\(key)\"")
            }
            var targets: [String] = []
            for (number, targetNode) in try list(fields["agents"]!.value, at: path + ".agents").enumerated() {
                let targetPath = "\(path).agents[\(number)]"
                let target = try text(targetNode, at: targetPath)
                guard
                    groups.contains(where: { $0.id == target })
                        || agents.contains(where: { globMatches(target, $0.id) })
                else {
                    throw error(.invalidValue, at: targetNode, targetPath, "\"\(target)\" matches no agent or group")
                }
                targets.append(target)
            }
            var weekdays: Set<Int> = []
            for (number, dayNode) in try list(fields["days"]!.value, at: path + ".days").enumerated() {
                let day = try text(dayNode, at: "\(path).days[\(number)]").lowercased()
                guard let found = MaintenanceWindow.weekdayNames.firstIndex(where: { day.hasPrefix($0) }),
                    day.count == 3 || day == Self.weekdayFullNames[found]
                else {
                    throw error(
                        .invalidValue,
                        at: dayNode,
                        "\(path).days[\(number)]",
                        "expected a weekday (mon … sun), found \"\(day)\""
                    )
                }
                weekdays.insert(found + 1)
            }
            let startNode = fields["start"]!.value
            let start = try text(startNode, at: path + ".start")
            let parts = start.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
                (0..<24).contains(hour), (0..<60).contains(minute)
            else {
                throw error(
                    .invalidValue,
                    at: startNode,
                    path + ".start",
                    "expected a local time like \"02:30\", found \"\(start)\""
                )
            }
            let minutes = try count(
                fields["duration_minutes"]!.value,
                at: path + ".duration_minutes",
                in: 1...7 * 24 * 60
            )
            let zoneNode = fields["time_zone"]!.value
            let zone = try text(zoneNode, at: path + ".time_zone")
            guard MaintenanceWindow.isKnownTimeZone(zone) else {
                throw error(
                    .invalidValue,
                    at: zoneNode,
                    path + ".time_zone",
                    "unknown time zone \"\(zone)\" (an IANA name, e.g. Europe/Berlin or UTC)"
                )
            }
            let reason = try fields["reason"].map { pair throws(ConfigurationError) in
                try text(pair.value, at: path + ".reason")
            }
            windows.append(
                MaintenanceWindow(
                    targets: targets,
                    weekdays: weekdays,
                    startMinute: hour * 60 + minute,
                    duration: .seconds(Int64(minutes) * 60),
                    timeZone: zone,
                    reason: reason ?? "maintenance window"
                )
            )
        }
        return windows
    }

    static let weekdayFullNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    static func isIDByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}

/// Rule keys one agent (or the top level) sets; the others come from the level above.
struct RuleOverrides: Hashable {
    var lateAfter: Duration?
    var alertOnLate: Bool?
    var failingAfterHeartbeats: Int?
    var maxRestarts: Int?
    var restartWindow: Duration?
    var alerts: Bool?

    func applied(to base: AgentRules) -> AgentRules {
        var rules = base
        if let lateAfter { rules.lateAfter = lateAfter }
        if let alertOnLate { rules.alertOnLate = alertOnLate }
        if let failingAfterHeartbeats { rules.failingAfterHeartbeats = failingAfterHeartbeats }
        if let maxRestarts { rules.maxRestarts = maxRestarts }
        if let restartWindow { rules.restartWindow = restartWindow }
        if let alerts { rules.alerts = alerts }
        return rules
    }
}
