import Foundation
import OrderedJSON
import Render
import Testing
@testable import LTNodes

private func solid(_ r: UInt8, _ g: UInt8, _ b: UInt8, count: Int) -> [UInt8] {
    var out = [UInt8]()
    for _ in 0..<count { out += [r, g, b, 255] }
    return out
}

/// A batch of `count` pictures, picture i filled with the colour (10·i, 20, 30).
private func batch(_ count: Int, width: Int = 6, height: Int = 4) throws -> ImageBatch {
    try ImageBatch(rgbaPictures: (0..<count).map { i in
        (rgba: solid(UInt8(10 * i), 20, 30, count: width * height), width: width, height: height)
    })
}

private func call(_ inputs: [String: NodeValue], temp: TempDirectory, output: String) -> NodeCall {
    let environment = ExecutionEnvironment(models: DirectoryModels(directory: temp.path), tempDirectory: temp.path + "/temp",
                                           outputDirectory: output)
    let context = NodeContext(environment: environment, promptID: "p", nodeID: "9", reportProgress: { _, _ in }, interrupted: { false })
    return NodeCall(nodeID: "9", inputs: inputs.mapValues { [$0] }, context: context)
}

private func files(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
}

@Suite struct ImageNodesTests {
    @Test func batch_padsSmallerPicturesOntoWhiteAndReportsComfyUIShape() throws {
        let small = [UInt8](repeating: 0, count: 2 * 2 * 4)   // transparent black → white
        let red = solid(200, 0, 0, count: 3)
        let pictures: [(rgba: [UInt8], width: Int, height: Int)] = [(small, 2, 2), (red, 3, 1)]
        let b = try ImageBatch(rgbaPictures: pictures)
        #expect(b.shape == [2, 2, 3, 3])
        #expect(Array(b.pictures[0][0..<4]) == [255, 255, 255, 255])
        #expect(Array(b.pictures[1][0..<4]) == [200, 0, 0, 255])
        #expect(Array(b.pictures[1][(3 + 0) * 4..<(3 + 0) * 4 + 4]) == [255, 255, 255, 255])   // row 1: padding
        #expect(throws: NodeFailure.self) { try ImageBatch(rgbaPictures: []) }
        #expect(throws: NodeFailure.self) { try ImageBatch(rgbaPictures: [([1, 2, 3], 1, 1)]) }
    }

    @Test func saveImage_writesNumberedPNGsWithPromptAndWorkflowChunks() throws {
        let temp = TempDirectory("ltnodes-save")
        defer { temp.cleanup() }
        let output = temp.path + "/output"
        let prompt: JSON = try JSON.text(#"{"1": {"class_type": "X", "inputs": {"a": 1.5, "é": "ü"}}}"#)
        let workflow: JSON = try JSON.text(#"{"workflow": {"nodes": [], "version": 0.4}}"#)
        // A file of another prefix and a higher number from an earlier run: the counter continues after ComfyUI_00007_.
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        for name in ["ComfyUI_00007_.png", "ComfyUIx_00050_.png", "ComfyUI_notanumber_.png"] {
            _ = FileManager.default.createFile(atPath: output + "/" + name, contents: Data())
        }
        let result = try SaveImageNode.run(call(["images": .images(try batch(2)), "filename_prefix": .string("ComfyUI"),
                                                 "prompt": .json(prompt), "extra_pnginfo": .json(workflow)], temp: temp, output: output))
        let refs = try #require(result.ui?["images"]?.arrayValue)
        #expect(refs == [
            .object(JSONObject([("filename", "ComfyUI_00008_.png"), ("subfolder", ""), ("type", "output")])),
            .object(JSONObject([("filename", "ComfyUI_00009_.png"), ("subfolder", ""), ("type", "output")])),
        ])
        for (i, name) in ["ComfyUI_00008_.png", "ComfyUI_00009_.png"].enumerated() {
            let png = Array(try Data(contentsOf: URL(fileURLWithPath: output + "/" + name)))
            let decoded = try PNGDecoder.decode(png)
            #expect(decoded.width == 6 && decoded.height == 4)
            #expect(decoded.pixel(x: 5, y: 3) == (UInt8(10 * i), 20, 30, 255))
            // Python's json.dumps: ", " / ": " separators, non-ASCII escaped.
            #expect(try PNGDecoder.text(png, keyword: "prompt") == #"{"1": {"class_type": "X", "inputs": {"a": 1.5, "\u00e9": "\u00fc"}}}"#)
            #expect(try PNGDecoder.text(png, keyword: "workflow") == #"{"nodes": [], "version": 0.4}"#)
            // tEXt chunks (what PIL writes for ASCII text), before the image data.
            let bytes = String(decoding: png, as: UTF8.self)
            #expect(bytes.contains("tEXtprompt\0") && bytes.contains("tEXtworkflow\0") && !bytes.contains("iTXt"))
        }
    }

    @Test func saveImage_subfoldersVariablesAndEscapes() throws {
        let temp = TempDirectory("ltnodes-save-sub")
        defer { temp.cleanup() }
        let output = temp.path + "/output"
        let one = try batch(1, width: 7, height: 5)
        let first = try SaveImageNode.run(call(["images": .images(one), "filename_prefix": .string("runs/./w%width%_h%height%")],
                                               temp: temp, output: output))
        #expect(first.ui?["images"]?[0] == .object(JSONObject([("filename", "w7_h5_00001_.png"), ("subfolder", "runs"), ("type", "output")])))
        let second = try SaveImageNode.run(call(["images": .images(one), "filename_prefix": .string("runs/w%width%_h%height%")],
                                                temp: temp, output: output))
        #expect(second.ui?["images"]?[0]?["filename"] == "w7_h5_00002_.png")
        // %batch_num% is replaced per picture after the counter was found (so, as in ComfyUI, it
        // never matches earlier files and the counter restarts at 1 for such prefixes).
        let numbered = try SaveImageNode.run(call(["images": .images(try batch(2)), "filename_prefix": .string("runs/b%batch_num%")],
                                                  temp: temp, output: output))
        #expect(numbered.ui?["images"]?.arrayValue?.compactMap { $0["filename"]?.stringValue } == ["b0_00001_.png", "b1_00002_.png"])
        #expect(files(output + "/runs") == ["b0_00001_.png", "b1_00002_.png", "w7_h5_00001_.png", "w7_h5_00002_.png"])
        for bad in ["../escape", "/etc/x", "a/../../b"] {
            #expect(throws: NodeFailure.self) {
                try SaveImageNode.run(call(["images": .images(try batch(1)), "filename_prefix": .string(bad)], temp: temp, output: output))
            }
        }
        #expect(!FileManager.default.fileExists(atPath: temp.path + "/escape_00001_.png"))
    }

    @Test func previewImage_writesToTempWithRandomTag() throws {
        let temp = TempDirectory("ltnodes-preview")
        defer { temp.cleanup() }
        let result = try PreviewImageNode.run(call(["images": .images(try batch(3))], temp: temp, output: temp.path + "/output"))
        let refs = try #require(result.ui?["images"]?.arrayValue)
        #expect(refs.count == 3 && refs.allSatisfy { $0["type"] == "temp" && $0["subfolder"] == "" })
        let names = refs.compactMap { $0["filename"]?.stringValue }
        #expect(names.enumerated().allSatisfy { i, name in
            name.hasPrefix("ComfyUI_temp_") && name.hasSuffix("_0000\(i + 1)_.png") && name.count == "ComfyUI_temp_abcde_00001_.png".count
        })
        #expect(files(temp.path + "/temp") == names.sorted())
    }

    @Test func locationFollowsComfyUIsPathRules() throws {
        #expect(ImageSaver.normalizePath("a//b/./c/..") == "a/b")
        #expect(ImageSaver.normalizePath("") == ".")
        #expect(ImageSaver.normalizePath("../a") == "../a")
        #expect(ImageSaver.normalizePath("/../a") == "/a")
        #expect(ImageSaver.directoryName("a/b/c") == "a/b" && ImageSaver.directoryName("c") == "" && ImageSaver.directoryName("/c") == "/")
        #expect(ImageSaver.baseName("a/b/c") == "c" && ImageSaver.baseName("a/") == "")
        #expect(PythonFormat.jsonDumps(try JSON.text(#"[1, 2.0, "a\"\n\u007f😀", null, true, {}]"#))
                == #"[1, 2.0, "a\"\n\u007f\ud83d\ude00", null, true, {}]"#)
    }
}
