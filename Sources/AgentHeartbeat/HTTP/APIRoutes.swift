import AgentHeartbeatCore
import AgentHeartbeatRedis
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore

/// `/api/v1`: agents, their history, uptime and series, groups, silences, and heartbeats pushed
/// over HTTP; described by the committed `openapi.json`, served at `/api/v1/openapi.json`.
/// Reads are open like the dashboard; writes need `Authorization: Bearer $AGENT_HEARTBEAT_API_TOKEN`.
/// Every error is an RFC 9457 problem document.
struct APIRoutes: Sendable {
    let status: SidecarStatus
    let configurations: ConfigurationStore
    /// Its own connection: API reads never wait behind a check.
    let client: RedisClient
    /// nil: write endpoints are disabled.
    let token: String?
    let logger: Logger

    static let bodyLimit = 64 * 1024
    /// The latest changes an agent's document lists.
    static let historyLimit = 50
    static let pageLimit = (default: 1000, maximum: 100_000)

    func add(to router: Router<BasicRequestContext>) {
        router.get("api/v1/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_json))
            )
        }
        router.get("api/v1/agents") { request, _ in try handleNow { try agents(request) } }
        router.get("api/v1/agents/:id") { _, context in
            await handle { try await agent(context.parameters.get("id") ?? "") }
        }
        router.get("api/v1/groups") { _, _ in try handleNow { try document(try catalog().groups) } }
        router.get("api/v1/silences") { _, _ in await handle { try await silences() } }
        router.post("api/v1/silences") { request, _ in await handle { try await addSilence(request) } }
        router.delete("api/v1/silences/:id") { request, context in
            await handle { try await removeSilence(context.parameters.get("id") ?? "", request: request) }
        }
        router.post("api/v1/heartbeats/:id") { request, context in
            await handle { try await heartbeat(context.parameters.get("id") ?? "", request: request) }
        }
        for (path, allowed) in Self.methods {
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete, .options, .trace, .init("QUERY")!]
            where !allowed.contains(method) {
                let allow = allowed.map(\.rawValue).joined(separator: ", ")
                router.on(RouterPath(path), method: method) { _, _ in
                    var response = Self.problem(
                        .init(
                            status: 405,
                            title: "Method not allowed",
                            detail: "\(method) is not allowed; allowed: \(allow)"
                        )
                    )
                    response.headers[.allow] = allow
                    return response
                }
            }
        }
    }

    /// The methods each path answers; the others get a 405 problem.
    static let methods: [(path: String, allowed: [HTTPRequest.Method])] = [
        ("api/v1/openapi.json", [.get]), ("api/v1/agents", [.get]), ("api/v1/agents/:id", [.get]),
        ("api/v1/groups", [.get]), ("api/v1/silences", [.get, .post]), ("api/v1/silences/:id", [.delete]),
        ("api/v1/heartbeats/:id", [.post]),
    ]

    // MARK: Reads

    func catalog() throws(APIDocument.Problem) -> AgentCatalog {
        guard let catalog = status.catalog else {
            throw APIDocument.Problem(
                status: 503,
                title: "No check yet",
                detail: "the first check has not completed; try again in a few seconds"
            )
        }
        return catalog
    }

    func agents(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        let limit = try number(
            query["limit"],
            name: "limit",
            default: Self.pageLimit.default,
            in: 1...Self.pageLimit.maximum
        )
        let offset = try number(query["offset"], name: "offset", default: 0, in: 0...Int(Int32.max))
        let status = query["status"].map(String.init)
        if let status, !Self.statusWords.contains(status) {
            throw APIDocument.Problem(
                status: 400,
                title: "Invalid parameter",
                detail:
                    "status must be one of \(Self.statusWords.sorted().joined(separator: ", ")), found \"\(status)\""
            )
        }
        let list = try catalog().list(
            status: status,
            group: query["group"].map(String.init),
            query: query["q"].map(String.init),
            limit: limit,
            offset: offset
        )
        return try document(list)
    }

    static let statusWords = Set(AgentHistoryState.allCases.map(\.rawValue))

    func agent(_ id: String) async throws -> Response {
        let catalog = try catalog()
        guard let index = catalog.index(of: id) else {
            throw APIDocument.Problem(status: 404, title: "No such agent", detail: "no agent with id \"\(id)\"")
        }
        let records = try await AgentRecordsReader(client: client).read(
            agentID: id,
            configuration: catalog.configuration,
            historyLimit: Self.historyLimit
        )
        let states = catalog.states
        let evaluation = states.evaluations[index]
        let payload = states.payload(at: index).flatMap { bytes in
            bytes.withUnsafeBufferPointer { try? JSONParser.parse($0) }
        }
        let detail = APIDocument.AgentDetail(
            now: iso8601(milliseconds: records.now),
            agent: catalog.summary(at: index),
            payload: payload,
            payloadError: states.payloadError(at: index),
            expectedIntervalSeconds: evaluation.expectedInterval > 0 ? Double(evaluation.expectedInterval) / 1000 : nil,
            history: records.recent.map(APIDocument.Change.init),
            timeline: records.day.map(APIDocument.Change.init),
            uptime: records.uptime.mapValues(APIDocument.UptimeFigures.init),
            series: records.series
        )
        return try document(detail)
    }

    func silences() async throws -> Response {
        let store = SilenceStore(client: client, configuration: configurations.current)
        let (_, silences) = try await store.list()
        return try document(silences.map(APIDocument.SilenceDocument.init))
    }

    // MARK: Writes

    /// Refuses the request unless it carries the API token.
    func authorize(_ request: Request) throws(APIDocument.Problem) {
        guard let token else {
            throw APIDocument.Problem(
                status: 403,
                title: "Writes are disabled",
                detail: "set AGENT_HEARTBEAT_API_TOKEN in the sidecar's environment to enable write endpoints,"
                    + " and send it as Authorization: Bearer <token>"
            )
        }
        let header = request.headers[.authorization] ?? ""
        // The scheme's name is case-insensitive (RFC 9110).
        let given = header.lowercased().hasPrefix("bearer ") ? String(header.dropFirst("bearer ".count)) : ""
        guard !given.isEmpty, constantTimeEquals(given, token) else {
            throw APIDocument.Problem(
                status: 401,
                title: "Unauthorized",
                detail: header.isEmpty
                    ? "this endpoint needs Authorization: Bearer <AGENT_HEARTBEAT_API_TOKEN>"
                    : "the bearer token does not match AGENT_HEARTBEAT_API_TOKEN"
            )
        }
    }

    /// The request's body, at most `bodyLimit` bytes.
    func body(_ request: Request) async throws -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: Self.bodyLimit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw APIDocument.Problem(
                status: 413,
                title: "Body too large",
                detail: "the body must be at most \(Self.bodyLimit) bytes"
            )
        }
    }

    struct NewSilence: Decodable {
        var target: String
        var durationSeconds: Int64
        var reason: String?

        enum CodingKeys: String, CodingKey {
            case target, reason
            case durationSeconds = "duration_seconds"
        }
    }

    func addSilence(_ request: Request) async throws -> Response {
        try authorize(request)
        let bytes = try await body(request)
        let silence: NewSilence
        do {
            silence = try JSONDecoder().decode(NewSilence.self, from: Data(bytes))
        } catch {
            throw APIDocument.Problem(
                status: 422,
                title: "Invalid silence",
                detail: "expected {\"target\": \"<agent, group or glob>\", \"duration_seconds\": <1 to "
                    + "\(SilenceStore.maximumDuration.wholeSeconds)>, \"reason\": \"<text>\"}: \(Self.describe(error))"
            )
        }
        let configuration = configurations.current
        guard (1...SilenceStore.maximumDuration.wholeSeconds).contains(silence.durationSeconds) else {
            throw APIDocument.Problem(
                status: 422,
                title: "Invalid silence",
                detail: "duration_seconds must be from 1 to \(SilenceStore.maximumDuration.wholeSeconds),"
                    + " found \(silence.durationSeconds)"
            )
        }
        guard configuration.knows(target: silence.target) else {
            throw APIDocument.Problem(
                status: 404,
                title: "No such target",
                detail: "\"\(silence.target)\" is no agent or group, and matches no agent id"
            )
        }
        let reason = silence.reason ?? ""
        guard reason.count <= 500 else {
            throw APIDocument.Problem(
                status: 422,
                title: "Invalid silence",
                detail: "reason must be at most 500 characters"
            )
        }
        let added = try await SilenceStore(client: client, configuration: configuration).add(
            target: silence.target,
            duration: .seconds(silence.durationSeconds),
            reason: reason
        )
        logger.notice("silence added through the API", metadata: ["id": "\(added.id)", "target": "\(added.target)"])
        return try document(APIDocument.SilenceDocument(added), status: .created)
    }

    func removeSilence(_ id: String, request: Request) async throws -> Response {
        try authorize(request)
        guard try await SilenceStore(client: client, configuration: configurations.current).remove(id: id) else {
            throw APIDocument.Problem(status: 404, title: "No such silence", detail: "no silence with id \"\(id)\"")
        }
        logger.notice("silence removed through the API", metadata: ["id": "\(id)"])
        return Response(status: .noContent)
    }

    /// A heartbeat pushed over HTTP takes the path of a published one: it is published on the
    /// agent's channel, so every replica's mirror stores it as it stores the others.
    func heartbeat(_ id: String, request: Request) async throws -> Response {
        try authorize(request)
        let configuration = configurations.current
        guard let agent = configuration.agents.first(where: { $0.id == id }) else {
            throw APIDocument.Problem(
                status: 404,
                title: "No such agent",
                detail: "no agent with id \"\(id)\" in agents.yaml"
            )
        }
        var payload = try await body(request)
        if payload.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) { payload = Array("{}".utf8) }
        if let problem = HeartbeatPayload.problem(with: payload) {
            throw APIDocument.Problem(status: 422, title: "Invalid heartbeat", detail: problem.description)
        }
        let (channel, message) = (Array(agent.channel.utf8), payload)
        let command = configuration.isSharded(channel: channel) ? "SPUBLISH" : "PUBLISH"
        let receivers = try await client.withConnection { connection throws(RedisError) in
            try connection.call(RedisCommand(command, [channel, message])).integer ?? 0
        }
        guard receivers > 0 else {
            throw APIDocument.Problem(
                status: 503,
                title: "Not stored",
                detail: "no replica is subscribed to the agent's channel right now; try again"
            )
        }
        Counter(label: SidecarMetrics.Name.apiHeartbeats).increment()
        return try document(["accepted": true], status: .accepted)
    }

    // MARK: Documents

    func document(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: jsonText(value)))
        )
    }

    func number(_ text: Substring?, name: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIDocument.Problem(
                status: 400,
                title: "Invalid parameter",
                detail:
                    "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), found \"\(text)\""
            )
        }
        return number
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\""
        default: "not a JSON object"
        }
    }

    /// Runs `body`; a problem becomes its document, any other error a 503 (Redis) problem.
    func handle(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let problem as APIDocument.Problem {
            return Self.problem(problem)
        } catch {
            logger.warning("API request failed", metadata: ["error": "\(error)"])
            return Self.problem(.init(status: 503, title: "Redis unavailable", detail: "\(error)"))
        }
    }

    func handleNow(_ body: () throws -> Response) throws -> Response {
        do {
            return try body()
        } catch let problem as APIDocument.Problem {
            return Self.problem(problem)
        }
    }

    static func problem(_ problem: APIDocument.Problem) -> Response {
        Response(
            status: HTTPResponse.Status(code: problem.status),
            headers: problem.status == 401
                ? [.contentType: "application/problem+json", .wwwAuthenticate: "Bearer"]
                : [.contentType: "application/problem+json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: jsonText(problem)))
        )
    }
}
