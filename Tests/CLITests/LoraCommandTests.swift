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

    /// Without --json: the summary and the most changed layers, largest |dW| first, as in the JSON.
    @Test func tableOfTheMostChanged() throws {
        let file = Self.tools + "/lora/lycoris_lora.safetensors", base = Self.tools + "/diffusers_unet/unet"
        let text = try LoraCommand.output(file: file, base: base, json: false, top: 3)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "format    kohya LoCon")
        #expect(lines[2].hasPrefix("layers    121 changed (0 in text encoders), 0 keys unmatched"))
        let r = try JSON.parse(Array(try LoraCommand.output(file: file, base: base).utf8))
        let layers = try #require(r["layers"]?.arrayValue)
        let largest = layers.max { ($0["delta_l2"]?.doubleValue ?? 0) < ($1["delta_l2"]?.doubleValue ?? 0) }
        let rows = lines.drop { !$0.hasPrefix("most changed") }.dropFirst(2)
        #expect(rows.count == 3)
        #expect(rows.first?.hasPrefix("  " + String((largest?["name"]?.stringValue ?? "?").suffix(56))) == true, "\(rows)")
    }
}
