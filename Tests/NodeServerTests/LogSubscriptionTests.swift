import Foundation
import HTTPWire
@testable import NodeServer
import OrderedJSON
import Testing

/// `PATCH /internal/logs/subscribe` and the WebSocket `logs` messages (spec §2 Internal, §4).
@Suite struct LogSubscriptionTests {
    func subscribe(_ app: NodeServerApp, _ body: String) -> HTTPResponse {
        app.respond(to: request("PATCH", "/internal/logs/subscribe", body: Array(body.utf8)))
    }

    @Test func subscribedClients_getNewLogLines_othersDoNot() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let mine = RecordingSocket(id: 1)
        let other = RecordingSocket(id: 2)
        app.webSocketDidOpen(mine, request: request("GET", "/ws?clientId=me"))
        app.webSocketDidOpen(other, request: request("GET", "/ws?clientId=other"))
        #expect(subscribe(app, #"{"clientId":"me","enabled":true}"#).status == 200)

        app.log.append("first line")
        let logs = mine.messages.filter { $0["type"] == "logs" }
        #expect(logs.count == 1)
        let data = try #require(logs.first?["data"])
        #expect(data.objectValue?.keys == ["entries", "size"])
        #expect(data["entries"]?[0]?["m"] == "first line\n")
        #expect(data["entries"]?[0]?["t"]?.stringValue == app.log.all.last?.time)
        #expect(data["size"] == ["cols": 80, "rows": 24])
        #expect(!other.types.contains("logs"))

        // The same line is in /internal/logs/raw, in the same shape.
        let raw = try #require(app.respond(to: request("GET", "/internal/logs/raw")).json)
        #expect(raw["entries"]?.arrayValue?.last == data["entries"]?[0])

        #expect(subscribe(app, #"{"clientId":"me","enabled":false}"#).status == 200)
        app.log.append("second line")
        #expect(mine.messages.filter { $0["type"] == "logs" }.count == 1)
    }

    @Test func subscriptionSurvivesAReconnectWithTheSameID() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        #expect(subscribe(app, #"{"clientId":"later","enabled":true}"#).status == 200)
        let socket = RecordingSocket(id: 7)
        app.webSocketDidOpen(socket, request: request("GET", "/ws?clientId=later"))
        app.log.append("hello")
        #expect(socket.messages.last?["data"]?["entries"]?[0]?["m"] == "hello\n")
    }

    @Test(arguments: ["", "[]", "{}", #"{"clientId":"x"}"#, #"{"clientId":5,"enabled":true}"#,
                      #"{"clientId":"","enabled":true}"#, #"{"clientId":"x","enabled":"yes"}"#, "{broken"])
    func malformedBodies_are400(body: String) throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let r = subscribe(app, body)
        #expect(r.status == 400)
        #expect(r.json?["error"]?.stringValue?.contains("clientId") == true)
    }

    @Test func subscriptionsAreBounded_closedClientsMakeRoom() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let open = RecordingSocket(id: 1)
        app.webSocketDidOpen(open, request: request("GET", "/ws?clientId=c0"))
        for i in 0..<ClientRegistry.maxLogSubscribers {
            #expect(app.clients.setLogSubscription(clientID: "c\(i)", enabled: true))
        }
        // Full: ids without a socket are dropped to make room; the open one stays subscribed.
        #expect(subscribe(app, #"{"clientId":"new","enabled":true}"#).status == 200)
        #expect(app.clients.logSubscribers.withLock { $0 } == ["c0", "new"])
    }
}
