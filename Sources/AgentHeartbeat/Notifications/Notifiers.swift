import AgentHeartbeatCore

/// The receivers agents.yaml names, with their secrets read from the environment.
public enum Notifiers {
    /// Without a `notifiers` section: Telegram from `TELEGRAM_*`, when set (as before receivers
    /// could be named). A variable a notifier names but the environment lacks is an error at the
    /// line that names it, quoting the variable's name and never a value.
    public static func make(
        _ configuration: MonitorConfiguration,
        environment: [String: String],
        file: String
    ) throws(ConfigurationError) -> [any Notifier] {
        guard !configuration.notifiers.isEmpty else {
            return TelegramNotifier.Settings(environment: environment).map { [TelegramNotifier(settings: $0)] } ?? []
        }
        var notifiers: [any Notifier] = []
        for notifier in configuration.notifiers {
            func value(_ role: NotifierConfiguration.Role) throws(ConfigurationError) -> String {
                let variable = notifier.variables[role]!
                guard let value = environment[variable.name], !value.isEmpty else {
                    throw variable.missing(in: file, for: "notifier \"\(notifier.name)\"")
                }
                return value
            }
            func optional(_ role: NotifierConfiguration.Role) throws(ConfigurationError) -> String? {
                notifier.variables[role] == nil ? nil : try value(role)
            }
            let (timeout, age) = (notifier.timeout, notifier.maximumAge)
            switch notifier.kind {
            case .telegram:
                var settings = TelegramNotifier.Settings(token: try value(.token), chatID: try value(.chatID))
                settings.apiURL = baseURL(environment["TELEGRAM_API_URL"]) ?? settings.apiURL
                settings.totalTimeout = timeout
                settings.connectTimeout = min(settings.connectTimeout, timeout)
                notifiers.append(TelegramNotifier(name: notifier.name, settings: settings, maximumAge: age))
            case .slack:
                let target = HTTPNotifier.Target.slack(url: try value(.url))
                notifiers.append(HTTPNotifier(name: notifier.name, target: target, timeout: timeout, maximumAge: age))
            case .discord:
                let target = HTTPNotifier.Target.discord(url: try value(.url))
                notifiers.append(HTTPNotifier(name: notifier.name, target: target, timeout: timeout, maximumAge: age))
            case .pagerduty:
                let api = baseURL(environment["PAGERDUTY_API_URL"]) ?? "https://events.pagerduty.com"
                let target = HTTPNotifier.Target.pagerDuty(apiURL: api, routingKey: try value(.routingKey))
                notifiers.append(HTTPNotifier(name: notifier.name, target: target, timeout: timeout, maximumAge: age))
            case .webhook:
                let target = HTTPNotifier.Target.webhook(url: try value(.url), secret: try optional(.secret))
                notifiers.append(HTTPNotifier(name: notifier.name, target: target, timeout: timeout, maximumAge: age))
            case .email:
                let username = try optional(.username)
                let password = try optional(.password)
                let settings = EmailNotifier.Settings(
                    url: try value(.url),
                    from: notifier.from ?? "",
                    to: notifier.to,
                    credentials: username.map { ($0, password ?? "") }
                )
                notifiers.append(
                    EmailNotifier(name: notifier.name, settings: settings, timeout: timeout, maximumAge: age)
                )
            }
        }
        return notifiers
    }

    private static func baseURL(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}
