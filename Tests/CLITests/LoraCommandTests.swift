import Foundation
import OrderedJSON
import Testing
@testable import WeightLensCLI

/// `weightlens lora` on the Flux LoRA written by peft + diffusers (Tests/Fixtures/tools/lora).
@Suite struct LoraCommandTests {
    static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tools").path

    @Test func reportAgainstTheBaseModel() throws {
        let text = try LoraCommand.output(file: Self.tools + "/lora/peft_flux.safetensors", base: Self.tools + "/diffusers_flux/transformer")
        let r = try JSON.parse(Array(text.utf8))
        #expect(r.objectValue?.keys == ["format", "family", "metadata", "layers", "unmatched_keys"])
        #expect(r["format"]?.stringValue == "diffusers/PEFT LoRA")
        #expect(r["family"]?.stringValue?.hasPrefix("Flux.1-dev") == true)
        let layers = try #require(r["layers"]?.arrayValue)
        #expect(layers.count == 26 && layers.allSatisfy { ($0["relative_change"]?.doubleValue ?? 0) > 0 })
        #expect(r["unmatched_keys"]?.arrayValue?.isEmpty == true)
    }
}
