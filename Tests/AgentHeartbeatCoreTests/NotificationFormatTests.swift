import Foundation
import Testing

@testable import AgentHeartbeatCore

@Suite("Notifications in every receiver's format")
struct NotificationFormatTests {
    let now: Int64 = 1_800_000_000_000
    /// Every format's metacharacters, a mention, a link, non-ASCII, and 5,000 characters in all.
    static let hostile =
        #"*_~`|>#-[x](http://e.vil) <@&1> @everyone <!channel> & \ :smile: ![i](j) Grüße 🚀 "#
        + String(repeating: "é", count: 5000)

    func event(_ name: String, kind: AlertPolicy.Event.Kind = .alert, dependents: Int = 0) -> AlertPolicy.Event {
        var state = AgentState(
            agent: .init(id: "odd_id-1", name: name, offlineThreshold: .seconds(300)),
            record: HeartbeatRecord(receivedAt: now - 372_000, payload: Array(#"{"status":"ok","n":1}"#.utf8)),
            now: now
        )
        state.affected = (0..<dependents).map { .init(id: String(repeating: "d", count: 300) + "\($0)", name: "D") }
        return AlertPolicy.Event(
            kind: kind,
            trouble: .offline,
            subject: .agent(state),
            lastSeenBefore: kind == .recovery ? now - 500_000 : nil,
            recordAfterDelivery: AlertRecord(alerted: kind != .recovery, lastNotified: now, lastSeen: nil)
        )
    }

    @Test func slackEscapesItsThreeCharactersAndCuts() {
        let text = AlertMessage.render([event(Self.hostile)], now: now, format: .slack)[0].text
        #expect(text.hasPrefix("🔴 *Agent offline*\n\n*"))
        #expect(text.contains("&lt;@&amp;1&gt; @everyone &lt;!channel&gt; &amp;"))
        #expect(!text.contains("<@") && !text.contains("<!channel>") && !text.contains("<http"))
        #expect(text.contains("é…* (`odd_id-1`)"), "cut to 100 characters, marked")
    }

    @Test func discordEscapesEveryMetacharacterAndStaysUnder2000() {
        let events = (0..<30).map { _ in event(Self.hostile, dependents: 40) }
        let messages = AlertMessage.render(events, now: now, format: .discord)
        #expect(messages.count > 1)
        for message in messages { #expect(message.text.utf16.count <= 2000) }
        #expect(messages.flatMap(\.events).count == 30, "every event in some message")
        let text = messages[0].text
        #expect(text.contains(##"**\*\_\~\`\|\>\#\-\[x\]\(http\://e\.vil\) \<\@&1\> \@everyone \<\!channel\>"##))
        let short = AlertMessage.render([event("Grüße 🚀 :smile:")], now: now, format: .discord)[0].text
        #expect(short.contains(#"**Grüße 🚀 \:smile\:** (`odd_id-1`)"#))
        #expect(text.contains("`odd_id-1`"), "ids in code spans, unescaped")
    }

    @Test func telegramStillFitsWithTheSameHostileText() {
        let messages = AlertMessage.render((0..<30).map { _ in event(Self.hostile, dependents: 40) }, now: now)
        for message in messages { #expect(message.text.utf16.count <= 4096) }
    }

    @Test func plainTextForMailAndItsSubject() {
        let events = [event("Grüße <Mary>"), event("Bob")]
        let message = AlertMessage.render(events, now: now, format: .plain)[0]
        #expect(message.text.contains("Grüße <Mary> (odd_id-1)\nStatus: offline"))
        #expect(AlertMessage.subject(of: events) == "2 agents offline: Grüße <Mary> (odd_id-1) and 1 more")
        #expect(AlertMessage.subject(of: [event("Bob", kind: .recovery)]) == "Recovered: Bob (odd_id-1)")
    }

    @Test func mailHeadersAreEncodedAndTheBodyIsBase64() throws {
        let subject = "Agent offline: " + Self.hostile + "\r\nBcc: evil@example.com"
        let bytes = MailMessage.render(
            from: "heartbeat@example.com",
            to: ["ops@example.com"],
            subject: subject,
            body: "Grüße\nline two",
            id: "1800-42-0",
            date: now
        )
        let text = String(decoding: bytes, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n")[0]
        #expect(head.utf8.allSatisfy { $0 < 0x80 }, "headers are ASCII")
        #expect(!head.contains("\r\nBcc:"), "no header can be injected")
        for line in head.components(separatedBy: "\r\n") { #expect(line.count <= 78, "\(line)") }
        #expect(head.contains("Date: Fri, 15 Jan 2027 08:00:00 +0000"))
        #expect(head.contains("Message-ID: <1800-42-0@agent-heartbeat>"))
        #expect(head.contains("Content-Type: text/plain; charset=utf-8"))
        let words = head.components(separatedBy: "Subject: ")[1].components(separatedBy: "\r\nDate:")[0]
        let decoded = words.components(separatedBy: "\r\n ").map { word in
            String(decoding: Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))!, as: UTF8.self)
        }.joined()
        #expect(decoded == subject.replacingOccurrences(of: "\r\n", with: "  "))
        let body = text.components(separatedBy: "\r\n\r\n")[1].replacingOccurrences(of: "\r\n", with: "")
        #expect(String(decoding: Data(base64Encoded: body)!, as: UTF8.self) == "Grüße\nline two")
    }

    @Test func webhookEventCarriesTheWholeNameAndThePayload() throws {
        let document = EventDocument.webhook(event(Self.hostile), id: "e-1", now: now)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
        #expect(
            object["version"] as? Int == 1 && object["id"] as? String == "e-1" && object["kind"] as? String == "alert"
        )
        #expect(object["trouble"] as? String == "offline" && object["time"] as? String == "2027-01-15T08:00:00.000Z")
        #expect(object["group"] is NSNull)
        let agent = try #require(object["agent"] as? [String: Any])
        #expect(agent["name"] as? String == Self.hostile, "intact: JSON needs no cutting")
        #expect(agent["status"] as? String == "offline" && agent["seconds_silent"] as? Int == 372)
        #expect((agent["payload"] as? [String: Any])?["n"] as? Int == 1)
    }

    @Test func pagerDutyTriggersResolvesAndSkipsReminders() throws {
        let key = EventDocument.dedupKey(prefix: "agents", field: "odd_id-1")
        #expect(key == "agent-heartbeat/agents/odd_id-1")
        let long = EventDocument.dedupKey(prefix: "agents", field: String(repeating: "x", count: 400))
        #expect(long.utf8.count <= 255 && long.hasPrefix("agent-heartbeat/"))
        let trigger = try #require(EventDocument.pagerDuty(event(Self.hostile), dedupKey: key, source: "h", now: now))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(trigger.utf8)) as? [String: Any])
        #expect(object["event_action"] as? String == "trigger" && object["dedup_key"] as? String == key)
        #expect(object["routing_key"] == nil, "the secret is added when sent")
        let payload = try #require(object["payload"] as? [String: Any])
        let summary = try #require(payload["summary"] as? String)
        #expect(summary.count <= 1024 && summary.hasPrefix("Agent offline: *_~"))
        #expect(payload["severity"] as? String == "critical" && payload["source"] as? String == "h")
        #expect((payload["custom_details"] as? [String: Any])?["id"] as? String == "odd_id-1")
        #expect(EventDocument.pagerDuty(event("x", kind: .reminder), dedupKey: key, source: "h", now: now) == nil)
        let resolve = try #require(
            EventDocument.pagerDuty(event("x", kind: .recovery), dedupKey: key, source: "h", now: now)
        )
        #expect(resolve.contains(#""event_action":"resolve""#) && resolve.contains(key))
    }

    @Test func queuedNotificationsRoundTripAndWebhookIdsAreSharedAcrossReceivers() throws {
        let events = [event("Mary"), event("Bob", kind: .recovery)]
        let first = QueuedNotification.render(
            events,
            for: .webhook,
            now: now,
            idPrefix: "p",
            keyPrefix: "a",
            source: "h"
        )
        let second = QueuedNotification.render(
            [events[1]],
            for: .webhook,
            now: now,
            idPrefix: "p",
            keyPrefix: "a",
            source: "h"
        )
        #expect(first.count == 2 && first[1].id == second[0].id)
        #expect(first.map(\.recovery) == [false, true])
        for notification in first { #expect(QueuedNotification(encoded: notification.encoded) == notification) }
        let chat = QueuedNotification.render(events, for: .email, now: now, idPrefix: "p", keyPrefix: "a", source: "h")
        #expect(chat.count == 2 && chat[0].subject == "Agent offline: Mary (odd_id-1)")
        #expect(QueuedNotification(encoded: "not json") == nil)
    }

    @Test func sha256AndHMACMatchTheStandardsVectors() {
        #expect(hexDigest(sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            hexDigest(sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        let twoBlocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(
            hexDigest(sha256(Array(twoBlocks.utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
        // RFC 4231, test cases 1, 2 and 6 (a key longer than a block).
        #expect(
            hexDigest(hmacSHA256(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)))
                == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        )
        #expect(
            hexDigest(hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )
        #expect(
            hexDigest(
                hmacSHA256(
                    key: [UInt8](repeating: 0xaa, count: 131),
                    message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
                )
            ) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        )
    }
}
