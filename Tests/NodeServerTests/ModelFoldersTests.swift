import Foundation
@testable import NodeServer
import Testing

@Suite struct ModelFoldersTests {
    @Test func checkpointListing_isRecursiveSortedAndFiltersExtensions() {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let dirs = ServerDirectories(base: base)
        let root = dirs.models.folder("checkpoints")!.directories[0]
        for name in ["b.safetensors", "a.ckpt", "sub/c.sft", "notes.txt", ".hidden.safetensors"] {
            writeFile((root as NSString).appendingPathComponent(name))
        }
        #expect(dirs.models.fileNames(of: "checkpoints") == ["a.ckpt", "b.safetensors", "sub/c.sft"])
        #expect(dirs.models.fileNames(of: "nonexistent") == nil)
    }

    @Test func listing_seesFilesAddedLater() {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let dirs = ServerDirectories(base: base)
        #expect(dirs.models.fileNames(of: "checkpoints") == [])
        writeFile((base as NSString).appendingPathComponent("models/checkpoints/new.safetensors"))
        #expect(dirs.models.fileNames(of: "checkpoints") == ["new.safetensors"])
    }

    @Test(arguments: [("../../etc/passwd", "etc/passwd"), ("/abs/x.pt", "abs/x.pt"), ("a/./b/../c.pt", "a/c.pt"), ("..", nil), ("a\u{0}b", nil)])
    func names_areNormalisedInsideTheFolder(input: String, expected: String?) {
        #expect(ModelFolders.normalisedRelative(input) == expected)
    }

    @Test func resolve_neverLeavesTheFolder() {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let dirs = ServerDirectories(base: base)
        writeFile((base as NSString).appendingPathComponent("secret.safetensors"))
        writeFile((base as NSString).appendingPathComponent("models/checkpoints/ok.safetensors"))
        #expect(dirs.models.resolve("../../secret.safetensors", in: "checkpoints") == nil)
        #expect(dirs.models.resolve("ok.safetensors", in: "checkpoints")?.hasSuffix("models/checkpoints/ok.safetensors") == true)
    }

    @Test func extraModelPaths_addsSectionsWithBasePathAndAliases() throws {
        let base = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: base) }
        var dirs = ServerDirectories(base: base)
        let yaml = """
        a111:
            base_path: webui
            checkpoints: models/Stable-diffusion
            unet: models/unet
        comfyui:
            base_path: /opt/comfy
            is_default: true
            checkpoints: |
                models/checkpoints
                more/checkpoints
        """
        try dirs.models.addExtraModelPaths(yaml: yaml, configPath: (base as NSString).appendingPathComponent("extra.yaml"))
        let checkpoints = dirs.models.folder("checkpoints")!.directories
        #expect(checkpoints.first == "/opt/comfy/more/checkpoints")
        #expect(checkpoints.contains("/opt/comfy/models/checkpoints"))
        #expect(checkpoints.contains((base as NSString).appendingPathComponent("webui/models/Stable-diffusion")))
        #expect(dirs.models.folder("diffusion_models")!.directories.contains((base as NSString).appendingPathComponent("webui/models/unet")))
    }

    @Test(arguments: ["- a\n- b", "a: [1, 2]", "x: {base_path: [1]}", "a: b: c"])
    func extraModelPaths_rejectsMalformedFiles(yaml: String) {
        var folders = ServerDirectories(base: "/tmp/none").models
        #expect(throws: NodeServerError.self) { try folders.addExtraModelPaths(yaml: yaml, configPath: "/tmp/x.yaml") }
    }
}
