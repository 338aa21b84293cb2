/// The keys beyond agents and thresholds: rules, dependencies, groups, maintenance windows.
extension ConfigurationDecoder {
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
        if let pair = fields["notify"] {
            overrides.notify = try texts(pair.value, at: prefix + "notify")
        }
        if let pair = fields["on_offline"] {
            overrides.onOffline = try recoveryActions(pair.value, at: prefix + "on_offline")
        }
        if let pair = fields["metrics"] { overrides.metrics = try metricNames(pair.value, at: prefix + "metrics") }
        return overrides
    }

    /// `metrics`: names of numeric payload fields, each a word a Prometheus label can hold as is.
    func metricNames(_ node: YAMLNode, at keyPath: String) throws(ConfigurationError) -> [String] {
        let items = try list(node, at: keyPath)
        guard items.count <= AgentRules.maximumMetrics else {
            throw error(
                .invalidValue,
                at: node,
                keyPath,
                "at most \(AgentRules.maximumMetrics) metrics per agent, found \(items.count)"
            )
        }
        var names: [String] = []
        for (position, item) in items.enumerated() {
            let path = "\(keyPath)[\(position)]"
            let name = try text(item, at: path)
            guard name.utf8.count <= 64, let first = name.utf8.first,
                !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first),
                name.utf8.allSatisfy({
                    Self.isIDByte($0) && $0 != UInt8(ascii: "-") || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                })
            else {
                throw error(
                    .invalidValue,
                    at: item,
                    path,
                    "\"\(name)\" is not a field name: letters, digits and _, not starting with a digit, at most 64"
                )
            }
            guard name != AgentRules.intervalMetric else {
                throw error(.invalidValue, at: item, path, "\"\(name)\" is recorded for every agent already")
            }
            guard !names.contains(name) else {
                throw error(.invalidValue, at: item, path, "\"\(name)\" is listed twice")
            }
            names.append(name)
        }
        return names
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

    func decodeGroups(
        _ node: YAMLNode,
        agents: [MonitorConfiguration.Agent],
        notifiers: [NotifierConfiguration]
    ) throws(ConfigurationError) -> [AgentGroup] {
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
            var group = AgentGroup(id: id, name: name, members: ordered, minOnline: minOnline)
            if let pair = fields["notify"] {
                group.notify = try notifierNames(pair.value, at: path + ".notify", known: notifiers)
            }
            groups.append(group)
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
}

/// Rule keys one agent (or the top level) sets; the others come from the level above.
struct RuleOverrides: Hashable {
    var lateAfter: Duration?
    var alertOnLate: Bool?
    var failingAfterHeartbeats: Int?
    var maxRestarts: Int?
    var restartWindow: Duration?
    var alerts: Bool?
    var notify: [String]?
    var onOffline: [RecoveryAction]?
    var metrics: [String]?

    func applied(to base: AgentRules) -> AgentRules {
        var rules = base
        if let lateAfter { rules.lateAfter = lateAfter }
        if let alertOnLate { rules.alertOnLate = alertOnLate }
        if let failingAfterHeartbeats { rules.failingAfterHeartbeats = failingAfterHeartbeats }
        if let maxRestarts { rules.maxRestarts = maxRestarts }
        if let restartWindow { rules.restartWindow = restartWindow }
        if let alerts { rules.alerts = alerts }
        if let notify { rules.notify = notify }
        if let onOffline { rules.onOffline = onOffline }
        if let metrics { rules.metrics = metrics }
        return rules
    }
}
