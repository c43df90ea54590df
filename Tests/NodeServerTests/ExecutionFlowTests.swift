import Foundation
import HTTPWire
@testable import NodeServer
import OrderedJSON
import SocketServer
import Synchronization
import Testing

/// A WebSocket that records what the server sends.
final class RecordingSocket: WebSocketConnection {
    let id: Int
    let sent = Mutex<[String]>([])
    let closed = Mutex<UInt16?>(nil)
    init(id: Int) { self.id = id }
    func send(text: String) { sent.withLock { $0.append(text) } }
    func send(binary: [UInt8]) { sent.withLock { $0.append("<binary>") } }
    func close(code: UInt16) { closed.withLock { $0 = code } }
    var messages: [JSON] { sent.withLock { $0 }.compactMap { try? JSON.parse(Array($0.utf8)) } }
    var types: [String] { messages.compactMap { $0["type"]?.stringValue } }
}

/// A minimal safetensors file: one f16 conv weight under the SDXL U-Net prefix.
func writeTinyCheckpoint(_ path: String) {
    let name = "model.diffusion_model.input_blocks.0.0.weight"
    let count = 4 * 4 * 3 * 3
    var header = Array(#"{"\#(name)":{"dtype":"F16","shape":[4,4,3,3],"data_offsets":[0,\#(count * 2)]}}"#.utf8)
    while header.count % 8 != 0 { header.append(32) }
    var bytes: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64($0))) }
    bytes += header
    for i in 0..<count {
        let half = Float16(Float(i % 7) / 7 - 0.5)
        bytes += [UInt8(half.bitPattern & 0xff), UInt8(half.bitPattern >> 8)]
    }
    writeFile(path, bytes)
}

@Suite struct ExecutionFlowTests {
    func waitForHistory(_ app: NodeServerApp, _ id: String) throws -> JSON {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let e = app.queue.historyEntry(id) { return e.json }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw NodeServerError.listenFailed(reason: "prompt \(id) did not finish")
    }

    @Test func prompt_runsOnTheWorker_eventsGoToItsClient_historyHasComfyUIShape() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        writeTinyCheckpoint((base as NSString).appendingPathComponent("models/checkpoints/tiny.safetensors"))
        let app = try makeApp(base: base, checkpoints: [])
        let mine = RecordingSocket(id: 1)
        let other = RecordingSocket(id: 2)
        app.webSocketDidOpen(mine, request: request("GET", "/ws?clientId=me"))
        app.webSocketDidOpen(other, request: request("GET", "/ws"))
        #expect(mine.messages.first == ["type": "status", "data": ["status": ["exec_info": ["queue_remaining": 0]], "sid": "me"]])
        #expect(other.messages.first?["data"]?["sid"]?.stringValue?.count == 32)

        let prompt = #"""
        {"client_id": "me", "prompt": {
          "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny.safetensors"}},
          "3": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0], "filter": ""}},
          "4": {"class_type": "ShowText|pysssss", "inputs": {"text": ["3", 0]}}}}
        """#
        let r = app.respond(to: request("POST", "/api/prompt", body: Array(prompt.utf8)))
        #expect(r.status == 200)
        #expect(r.json?.objectValue?.keys == ["prompt_id", "number", "node_errors"])
        let id = try #require(r.json?["prompt_id"]?.stringValue)
        let record = try waitForHistory(app, id)
        #expect(record.objectValue?.keys == ["prompt", "outputs", "status", "meta"])
        #expect(record["prompt"]?.arrayValue?.count == 5)
        #expect(record["prompt"]?[3]?["client_id"] == "me")
        #expect(record["status"]?["status_str"] == "success")
        #expect(record["outputs"]?["4"]?["text"]?[0]?.stringValue?.contains("input_blocks.0.0") == true)

        // The final `executing {node: null}` follows the idle status; give the worker a moment to send it.
        let deadline = Date().addingTimeInterval(10)
        while mine.types.last != "executing" || mine.messages.last?["data"]?["node"] != .null, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let types = mine.types
        #expect(Array(types.suffix(3)) == ["execution_success", "status", "executing"])
        #expect(types.contains("execution_start") && types.contains("executed"))
        #expect(!other.types.contains("execution_start"))
        #expect(!other.types.contains("executed"))
        #expect(other.types.filter { $0 == "status" }.count >= 3)  // first + queued + started/finished

        let jobs = app.respond(to: request("GET", "/api/jobs?status=completed")).json
        #expect(jobs?["jobs"]?[0]?["id"]?.stringValue == id)
        #expect(jobs?["jobs"]?[0]?["create_time"]?.intValue != nil)
    }

    @Test func reconnectingWithTheSameClientID_dropsTheOlderSocket() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let first = RecordingSocket(id: 1)
        let second = RecordingSocket(id: 2)
        app.webSocketDidOpen(first, request: request("GET", "/ws?clientId=abc"))
        app.webSocketDidOpen(second, request: request("GET", "/ws?clientId=abc"))
        #expect(first.closed.withLock { $0 } == 1000)
        #expect(app.clients.count == 1)
        app.webSocket(second, didReceiveText: #"{"type":"feature_flags","data":{"supports_preview_metadata":true}}"#)
        #expect(second.messages.last?["type"] == "feature_flags")
        #expect(second.messages.last?["data"]?["max_upload_size"]?.intValue == 100 << 20)
        app.webSocket(second, didReceiveText: "not json")
        app.webSocketDidClose(second)
        #expect(app.clients.count == 0)
    }

    @Test func invalidPrompts_queueNothing() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let bad = #"{"prompt": {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "../../etc/passwd"}}, "2": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["1", 0], "layer_name": "x", "num_filters": 16, "visualization_mode": "both"}}}}"#
        let r = app.respond(to: request("POST", "/prompt", body: Array(bad.utf8)))
        #expect(r.status == 400)
        #expect(r.json?["node_errors"]?["1"]?["errors"]?[0]?["type"] == "value_not_in_list")
        #expect(app.queue.remaining == 0)
        #expect(app.queue.historyEntries().isEmpty)
    }
}
