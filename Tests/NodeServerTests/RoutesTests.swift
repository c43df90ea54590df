import Foundation
import HTTPWire
@testable import NodeServer
import OrderedJSON
import Testing

/// Routing and answer shapes, by calling the service directly (no sockets; the e2e tests cover those).
@Suite struct RoutesTests {
    @Test(arguments: ["/queue", "/api/queue"])
    func getQueue_answersBothPathsWithTheTranscriptShape(path: String) throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let r = app.respond(to: request("GET", path))
        #expect(r.status == 200)
        #expect(r.headers["Content-Type"] == "application/json; charset=utf-8")
        #expect(r.json?.objectValue?.keys == ["queue_running", "queue_pending"])
    }

    @Test(arguments: ["/nope", "/api/nope", "/api/queue/extra/parts", "/internal/nope", "/extensions/other/x.js"])
    func unknownRoutes_are404(path: String) throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        #expect(app.respond(to: request("GET", path)).status == 404)
    }

    @Test func models_listsFoldersAndCheckpoints() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base, checkpoints: ["z.safetensors", "a/b.ckpt"])
        #expect(app.respond(to: request("GET", "/models")).json?[0] == "checkpoints")
        #expect(app.respond(to: request("GET", "/api/models/checkpoints")).json == ["a/b.ckpt", "z.safetensors"])
        #expect(app.respond(to: request("GET", "/api/models/unknown_folder")).status == 404)
    }

    @Test func view_refusesTraversalAsComfyUIDoes() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        writeFile((base as NSString).appendingPathComponent("temp/ok.png"), [0x89, 0x50, 0x4e, 0x47])
        writeFile((base as NSString).appendingPathComponent("temp/sub/in.png"), [1])
        func status(_ q: String) -> Int { app.respond(to: request("GET", "/api/view?" + q)).status }
        #expect(status("filename=ok.png&type=temp&subfolder=") == 200)
        #expect(status("filename=in.png&type=temp&subfolder=sub") == 200)
        #expect(status("filename=ok.png [temp]") == 200)
        #expect(status("type=temp") == 404)
        #expect(status("filename=nope.png&type=temp") == 404)
        #expect(status("filename=../x.png&type=temp") == 400)
        #expect(status("filename=%2Fetc%2Fpasswd&type=temp") == 400)
        #expect(status("filename=ok.png&type=secret") == 400)
        #expect(status("filename=passwd&type=temp&subfolder=../../../../etc") == 403)
        let ok = app.respond(to: request("GET", "/view?filename=ok.png&type=temp"))
        #expect(ok.headers["Content-Type"] == "image/png")
        #expect(ok.headers["Content-Disposition"] == "filename=\"ok.png\"")
        #expect(ok.bodyBytes == [0x89, 0x50, 0x4e, 0x47])
    }

    @Test func view_forcesActiveContentToDownload() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        writeFile((base as NSString).appendingPathComponent("output/page.html"), Array("<script>".utf8))
        let r = app.respond(to: request("GET", "/view?filename=page.html"))
        #expect(r.headers["Content-Type"] == "application/octet-stream")
        #expect(r.headers["Content-Disposition"]?.hasPrefix("attachment") == true)
    }

    @Test func userdata_encodedSlashStaysOneSegment_andRoundTrips() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let body = Array(#"{"nodes":[]}"#.utf8)
        let post = app.respond(to: request("POST", "/api/userdata/workflows%2Fa%20b.json?overwrite=false&full_info=true", body: body))
        #expect(post.status == 200)
        #expect(post.json?["path"] == "workflows/a b.json")
        #expect(app.respond(to: request("POST", "/api/userdata/workflows%2Fa%20b.json?overwrite=false", body: body)).status == 409)
        #expect(app.respond(to: request("GET", "/api/userdata/workflows%2Fa%20b.json")).bodyBytes == body)
        let list = app.respond(to: request("GET", "/api/userdata?dir=workflows&recurse=true&split=false&full_info=true"))
        #expect(list.json?[0]?["path"] == "a b.json")
        #expect(list.json?[0]?["modified"]?.intValue != nil)
        #expect(app.respond(to: request("GET", "/api/userdata?dir=workflows&split=true")).json == [["a b.json", "a b.json"]])
        let moved = app.respond(to: request("POST", "/api/userdata/workflows%2Fa%20b.json/move/workflows%2Fsub%2Fc.json"))
        #expect(moved.json?["path"] == "workflows/sub/c.json")
        #expect(app.respond(to: request("DELETE", "/api/userdata/workflows%2Fsub%2Fc.json")).status == 204)
        #expect(app.respond(to: request("GET", "/api/userdata/workflows%2Fsub%2Fc.json")).status == 404)
    }

    @Test func userdata_refusesEscapesAndMissingDirs() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        #expect(app.respond(to: request("GET", "/api/userdata?dir=subgraphs")).status == 404)
        #expect(app.respond(to: request("GET", "/api/userdata")).status == 400)
        #expect(app.respond(to: request("GET", "/api/userdata?dir=..%2F..")).status == 403)
        #expect(app.respond(to: request("POST", "/api/userdata/..%2F..%2Fescape.json", body: [1])).status == 403)
    }

    @Test func settings_persistAndMerge() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        #expect(app.respond(to: request("GET", "/api/settings")).json == .object(JSONObject()))
        #expect(app.respond(to: request("POST", "/api/settings/Comfy.TutorialCompleted", body: Array("true".utf8))).status == 200)
        #expect(app.respond(to: request("POST", "/api/settings", body: Array(#"{"a":1}"#.utf8))).status == 200)
        #expect(app.respond(to: request("GET", "/api/settings")).json == ["Comfy.TutorialCompleted": true, "a": 1])
        #expect(app.respond(to: request("GET", "/api/settings/a")).json == 1)
        #expect(app.respond(to: request("GET", "/api/settings/missing")).json == .null)
    }

    @Test func jobs_validateParameters_andAcceptCancelled() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        let ok = app.respond(to: request("GET", "/api/jobs?status=completed,failed,cancelled&limit=64&offset=0"))
        #expect(ok.status == 200)
        #expect(ok.json?["pagination"]?["total"] == 0)
        for bad in ["status=done", "limit=0", "limit=x", "offset=y", "sort_by=name", "sort_order=up"] {
            #expect(app.respond(to: request("GET", "/api/jobs?" + bad)).status == 400)
        }
        #expect(app.respond(to: request("GET", "/api/jobs/00000000-0000-4000-8000-000000000000")).status == 404)
        #expect(app.respond(to: request("POST", "/api/jobs/cancel", body: Array(#"{"job_ids":"x"}"#.utf8))).status == 400)
        #expect(app.respond(to: request("POST", "/api/jobs/cancel", body: Array(#"{"job_ids":["NOT-A-UUID"]}"#.utf8))).status == 400)
    }

    @Test func postPrompt_malformedBodies_are400_andNothingIsQueued() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        for body in ["{", "[1,2]", "\"x\"", "{}", #"{"prompt": 5}"#, #"{"prompt": {}, "prompt_id": "NOT-UUID"}"#] {
            let r = app.respond(to: request("POST", "/prompt", body: Array(body.utf8)))
            #expect(r.status == 400, "\(body)")
            #expect(r.json?["error"]?["type"]?.stringValue != nil, "\(body)")
            #expect(r.json?["node_errors"] != nil, "\(body)")
        }
        #expect(app.respond(to: request("POST", "/prompt", body: Array("{}".utf8))).json?["error"]?["type"] == "no_prompt")
        #expect(app.queue.remaining == 0)
    }

    @Test func features_andSystemStats_haveTheTranscriptKeys() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        #expect(app.respond(to: request("GET", "/features")).json?.objectValue?.keys == ["supports_preview_metadata", "max_upload_size", "extension"])
        let stats = app.respond(to: request("GET", "/system_stats")).json
        #expect(stats?["system"]?.objectValue?.keys == ["os", "ram_total", "ram_free", "comfyui_version", "required_frontend_version",
                                                       "installed_templates_version", "required_templates_version", "python_version",
                                                       "pytorch_version", "embedded_python", "argv", "weightlens_kernels"])
        // The transcript's keys, plus the engine's kernel path (ComfyUI's clients ignore extra keys).
        #expect(["avx512", "avx2", "baseline", "neon"].contains(stats?["system"]?["weightlens_kernels"]?.stringValue ?? ""))
        #expect(stats?["devices"]?[0]?.objectValue?.keys == ["name", "type", "index", "vram_total", "vram_free", "torch_vram_total", "torch_vram_free"])
        #expect(stats?["devices"]?[0]?["vram_total"]?.intValue != nil)
    }
}

@Suite struct MiscRoutesTests {
    @Test func workflows_areServedListedAsTemplates_andCopiedToUserData() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let workflows = (base as NSString).appendingPathComponent("shipped")
        writeFile((workflows as NSString).appendingPathComponent("demo.json"), Array(#"{"nodes":[],"links":[]}"#.utf8))
        writeFile((base as NSString).appendingPathComponent("models/checkpoints/a.safetensors"))
        var config = NodeServerConfiguration(baseDirectory: base)
        config.workflowsDirectory = workflows
        let app = try NodeServerApp(configuration: config)
        #expect(app.respond(to: request("GET", "/workflows/demo.json")).json == ["nodes": [], "links": []])
        #expect(app.respond(to: request("GET", "/workflows/..%2Fmodels")).status == 404)
        #expect(app.respond(to: request("GET", "/api/workflow_templates")).json == ["weightlens": ["demo"]])
        #expect(app.respond(to: request("GET", "/api/workflow_templates/weightlens/demo.json")).status == 200)
        #expect(app.respond(to: request("GET", "/api/userdata?dir=workflows")).json == ["demo.json"])
    }

    @Test func withAFrontendWithoutCatalogue_workflowsAreTheTemplatesIndexWithThumbnails() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let workflows = (base as NSString).appendingPathComponent("shipped")
        for name in ["zeta", "demo"] {
            writeFile((workflows as NSString).appendingPathComponent("\(name).json"), Array(#"{"nodes":[],"links":[]}"#.utf8))
        }
        writeFile((workflows as NSString).appendingPathComponent("demo.png"), [0x89, 0x50, 0x4E, 0x47, 1])
        writeFile((workflows as NSString).appendingPathComponent("templates.json"), Array("""
            {"templates": [{"name": "demo", "title": "The demo", "description": "Start here."}]}
            """.utf8))
        let frontend = (base as NSString).appendingPathComponent("frontend")
        writeFile((frontend as NSString).appendingPathComponent("index.html"), Array("<html>".utf8))
        writeFile((base as NSString).appendingPathComponent("models/checkpoints/a.safetensors"))
        var config = NodeServerConfiguration(baseDirectory: base)
        config.workflowsDirectory = workflows
        config.frontEndRoot = frontend
        let app = try NodeServerApp(configuration: config)
        let index = app.respond(to: request("GET", "/templates/index.json")).json
        let templates = index?[0]?["templates"]?.arrayValue ?? []
        #expect(templates.map { $0["name"]?.stringValue } == ["demo", "zeta"])
        #expect(templates.first?["title"] == "The demo" && templates.first?["description"] == "Start here.")
        #expect(templates.first?["mediaSubtype"] == "png" && index?[0]?["moduleName"] == "default")
        #expect(app.respond(to: request("GET", "/templates/demo.json")).json == ["nodes": [], "links": []])
        #expect(app.respond(to: request("GET", "/templates/demo-1.png")).bodyBytes == [0x89, 0x50, 0x4E, 0x47, 1])
        // A workflow without its own picture gets the built-in thumbnail (or 404 without the bundle).
        #expect([200, 404].contains(app.respond(to: request("GET", "/templates/zeta-1.png")).status))
        #expect(app.respond(to: request("GET", "/templates/other.json")).status == 404)
        // Listed once: not again as an extension's templates.
        #expect(app.respond(to: request("GET", "/api/workflow_templates")).json == [:])
    }

    @Test func internalRoutes_haveNoAPIAlias() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        writeFile((base as NSString).appendingPathComponent("output/x.png"))
        #expect(app.respond(to: request("GET", "/internal/folder_paths")).json?["checkpoints"]?.arrayValue?.count == 1)
        #expect(app.respond(to: request("GET", "/api/internal/folder_paths")).status == 404)
        #expect(app.respond(to: request("GET", "/internal/files/output")).json == ["x.png"])
        #expect(app.respond(to: request("GET", "/internal/files/models")).status == 400)
        #expect(app.respond(to: request("GET", "/internal/logs")).json?.stringValue != nil)
        #expect(app.respond(to: request("PATCH", "/internal/logs/subscribe", body: Array(#"{"clientId":"a","enabled":true}"#.utf8))).status == 200)
    }

    @Test func interruptAndFree_acceptEmptyBodies() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let app = try makeApp(base: base)
        #expect(app.respond(to: request("POST", "/api/interrupt")).status == 200)
        #expect(app.respond(to: request("POST", "/interrupt", body: Array(#"{"prompt_id":"x"}"#.utf8))).status == 200)
        #expect(app.respond(to: request("POST", "/free", body: Array(#"{"unload_models":true}"#.utf8))).status == 200)
        #expect(app.respond(to: request("POST", "/queue", body: Array(#"{"clear":true}"#.utf8))).status == 200)
        #expect(app.respond(to: request("POST", "/history", body: Array("not json".utf8))).status == 200)
        #expect(app.respond(to: request("HEAD", "/api/prompt")).status == 200)
    }
}
