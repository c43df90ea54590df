import Foundation
import HTTPWire
@testable import NodeServer
import OrderedJSON
import Testing

/// The viewer and extension files are found without `Bundle.module`, and their absence is not fatal.
@Suite struct ResourcesTests {
    @Test func installedBundle_isFoundNextToTheTests() throws {
        let root = try #require(NodeServerResources.installedRoot)
        #expect(FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent("viewer/index.html")))
        #expect(FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent("extensions/weightlens/weightlens.js")))
    }

    @Test func locate_findsOnlyABundleWithItsResourcesFolder() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = URL(fileURLWithPath: dir)
        #expect(NodeServerResources.locate(in: [folder]) == nil)
        // A bundle folder without Resources/ inside (an incomplete copy) does not count.
        try FileManager.default.createDirectory(atPath: dir + "/Pkg_NodeServer.resources", withIntermediateDirectories: true)
        #expect(NodeServerResources.locate(in: [folder]) == nil)
        writeFile(dir + "/Pkg_NodeServer.resources/Resources/viewer/index.html")
        #expect(NodeServerResources.locate(in: [URL(fileURLWithPath: dir + "/missing"), folder]) == dir + "/Pkg_NodeServer.resources/Resources")
        // Another module's bundle is not taken for this one.
        let other = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: other) }
        writeFile(other + "/Pkg_LTNodes.resources/Resources/x")
        #expect(NodeServerResources.locate(in: [URL(fileURLWithPath: other)]) == nil)
    }

    @Test func withoutResources_viewerIs404_extensionsEmpty_andOneWarningIsLogged() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        writeFile((base as NSString).appendingPathComponent("models/checkpoints/a.safetensors"))
        var config = NodeServerConfiguration(baseDirectory: base)
        config.workflowsDirectory = nil
        config.resourcesDirectory = nil
        let app = try NodeServerApp(configuration: config)
        #expect(app.respond(to: request("GET", "/viewer")).status == 404)
        #expect(app.respond(to: request("GET", "/viewer/viewer.js")).status == 404)
        #expect(app.respond(to: request("GET", "/extensions/weightlens/weightlens.js")).status == 404)
        let extensions = app.respond(to: request("GET", "/extensions"))
        #expect(extensions.status == 200)
        #expect(extensions.json == .array([]))
        let warnings = app.log.all.filter { $0.message.contains("warning") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.message.contains("/viewer") == true)
        // The API itself still works.
        #expect(app.respond(to: request("GET", "/api/models/checkpoints")).json == ["a.safetensors"])
    }

    @Test func withResources_viewerAndExtensionsComeFromTheConfiguredFolder() throws {
        let base = makeTemporaryDirectory()
        let resources = makeTemporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: base)
            try? FileManager.default.removeItem(atPath: resources)
        }
        writeFile((resources as NSString).appendingPathComponent("viewer/index.html"), Array("<p>own viewer</p>".utf8))
        writeFile((resources as NSString).appendingPathComponent("extensions/weightlens/own.js"))
        var config = NodeServerConfiguration(baseDirectory: base)
        config.workflowsDirectory = nil
        config.resourcesDirectory = resources
        let app = try NodeServerApp(configuration: config)
        let viewer = app.respond(to: request("GET", "/viewer"))
        #expect(viewer.status == 200)
        #expect(String(decoding: viewer.bodyBytes, as: UTF8.self) == "<p>own viewer</p>")
        #expect(app.respond(to: request("GET", "/extensions")).json == .array([.string("/extensions/weightlens/own.js")]))
        #expect(app.log.all.allSatisfy { !$0.message.contains("warning") })
    }
}
