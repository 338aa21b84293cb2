import Foundation

/// One notification waiting in a receiver's queue in Redis, rendered for that receiver and free of
/// secrets (tokens, URLs and routing keys are added when it is sent).
public struct QueuedNotification: Sendable, Equatable, Codable {
    /// Unique per notification: the webhook's event id, the email's Message-ID.
    public var id: String
    /// When it was queued (ms, Redis clock).
    public var queuedAt: Int64
    /// The message (chat text, email body) or the JSON document (webhook, PagerDuty).
    public var text: String
    /// Email only.
    public var subject: String?
    /// The alert record fields of the agents and groups it is about (`AlertPolicy.Event.field`).
    public var subjects: [String]
    /// Whether it tells recoveries (else alerts and reminders, whose cooldown its delivery restarts).
    public var recovery: Bool

    public init(
        id: String,
        queuedAt: Int64,
        text: String,
        subject: String? = nil,
        subjects: [String],
        recovery: Bool = false
    ) {
        self.id = id
        self.queuedAt = queuedAt
        self.text = text
        self.subject = subject
        self.subjects = subjects
        self.recovery = recovery
    }

    /// Which agents and groups it is about, for logs (cut to 200 characters).
    public var about: String { String(subjects.joined(separator: ",").prefix(200)) }

    enum CodingKeys: String, CodingKey {
        case id, text, subject, subjects, recovery
        case queuedAt = "queued_at"
    }

    /// One JSON object, as stored in the queue.
    public var encoded: String { jsonText(self) }

    public init?(encoded: String) {
        guard let value = try? JSONDecoder().decode(Self.self, from: Data(encoded.utf8)) else { return nil }
        self = value
    }

    /// What `events` become for a receiver of `kind`: chat and mail messages pack several events,
    /// webhooks and PagerDuty get one document per event. `idPrefix` makes the ids unique (the
    /// caller's random part); `keyPrefix` names the deployment in PagerDuty's incident keys.
    public static func render(
        _ events: [AlertPolicy.Event],
        for kind: NotifierConfiguration.Kind,
        now: Int64,
        idPrefix: String,
        keyPrefix: String,
        source: String
    ) -> [QueuedNotification] {
        switch kind {
        case .telegram, .slack, .discord, .email:
            let format: MessageFormat =
                switch kind {
                case .telegram: .telegram
                case .slack: .slack
                case .discord: .discord
                default: .plain
                }
            return AlertMessage.render(events, now: now, format: format).enumerated().map { number, message in
                QueuedNotification(
                    id: "\(idPrefix)-\(number)",
                    queuedAt: now,
                    text: message.text,
                    subject: kind == .email ? AlertMessage.subject(of: message.events) : nil,
                    subjects: message.events.map(\.field),
                    recovery: message.events.allSatisfy { $0.kind == .recovery }
                )
            }
        case .webhook:
            return events.map { event in
                // The same event has the same id at every webhook: one event per subject per check.
                let id = "\(idPrefix)-\(hexDigest(Array(sha256(Array(event.field.utf8)).prefix(6))))"
                return QueuedNotification(
                    id: id,
                    queuedAt: now,
                    text: EventDocument.webhook(event, id: id, now: now),
                    subjects: [event.field],
                    recovery: event.kind == .recovery
                )
            }
        case .pagerduty:
            return events.enumerated().compactMap { number, event in
                let key = EventDocument.dedupKey(prefix: keyPrefix, field: event.field)
                return EventDocument.pagerDuty(event, dedupKey: key, source: source, now: now).map {
                    QueuedNotification(
                        id: "\(idPrefix)-\(number)",
                        queuedAt: now,
                        text: $0,
                        subjects: [event.field],
                        recovery: event.kind == .recovery
                    )
                }
            }
        }
    }
}
