import Foundation
import Testing
@testable import WeightLensCLI

/// The CLI on GGUF files written by gguf-py (Tests/Fixtures/tools/gguf): the stored GGML type is
/// shown next to the shape, layers list like any checkpoint.
@Suite struct GGUFCommandsTests {
    static let types: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tools/gguf/types.gguf").path

    @Test func inspectShowsTheStoredTypeNextToTheShape() throws {
        let text = try InspectCommand.output(file: Self.types, layer: "w.Q4_K", topK: 2, json: false)
        #expect(text.contains("shape       [4, 512] Q4_K, 2048 parameters"), "\(text)")
        let json = try InspectCommand.output(file: Self.types, layer: "five", topK: 2, json: true)
        #expect(json.contains(#""dtype": "Q8_0""#), "\(json)")
        let five = try InspectCommand.output(file: Self.types, layer: "five", topK: 2, json: false)
        #expect(five.contains("shape       [32, 4, 2, 2, 2] Q8_0, 1024 parameters"), "\(five)")
        let plain = try InspectCommand.output(file: Self.types, layer: "w.BF16", topK: 1, json: false)
        #expect(plain.contains("[4, 512] BF16"))
    }

    @Test func layersListsGGUFTensorsWithTheirTypes() throws {
        // Modules that own a `.weight`: conv, five (ComfyUI-GGUF reshaped) and iq.
        let json = try LayersCommand.output(file: Self.types, filter: "", json: true, all: false)
        #expect(json.contains(#""name":"five","shape":[32,4,2,2,2],"dtype":"Q8_0""#), "\(json)")
        #expect(json.contains(#""name":"conv","shape":[8,4,3,3],"dtype":"F16""#), "\(json)")
        #expect(json.contains(#""name":"iq","shape":[2,64],"dtype":"IQ4_NL""#), "\(json)")
    }

    @Test func unsupportedTypeIsAnErrorNamingIt() {
        #expect(throws: (any Error).self) { try InspectCommand.output(file: Self.types, layer: "iq", topK: 1, json: false) }
        do {
            _ = try InspectCommand.output(file: Self.types, layer: "iq", topK: 1, json: false)
        } catch {
            #expect("\(error)".contains("IQ4_NL"))
        }
    }
}
