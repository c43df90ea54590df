import ArgumentParser
import Checkpoint
import Foundation
import LoRA
import LTNodes
import ModelCatalog

/// `weightlens lora`: the report of `LTLoraInspect` for a LoRA file, optionally against a base checkpoint.
struct LoraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "Where a LoRA acts: per changed layer rank, alpha, scale, |dW|, top singular values (the report of LTLoraInspect).",
        discussion: """
        Prints LTLoraInspect's JSON: {format, family, metadata, layers: [{name, rank, alpha, scale,
        delta_l2, delta_max_abs, singular_values, relative_change}], unmatched_keys}. With --base the
        layers are named and ordered as that checkpoint's and relative_change is |dW| / |W|; without,
        names come from the bundled layout the LoRA fits (SD 1.5, SDXL, Flux.1-dev, SD3.5 large).
        --out writes the |dW|-along-the-blocks chart as a PNG.
        """)

    @Argument(help: "LoRA file: .safetensors, or .pt/.ckpt/.bin (restricted unpickler).")
    var file: String

    @Option(help: "Base checkpoint the LoRA is applied to.")
    var base: String?

    @Option(help: "Also write the |dW| chart to this PNG file.")
    var out: String?

    func run() throws {
        try CLIError.run(file: file) {
            FileHandle.standardOutput.write(Data((try Self.output(file: file, base: base, out: out) + "\n").utf8))
        }
    }

    /// The JSON report as printed (and the chart written to `out` when given).
    static func output(file: String, base: String?, out: String? = nil) throws -> String {
        let lora = try LoraFile.open(path: file)
        let catalog = try base.map { LayerCatalog(checkpoint: try CheckpointFile.open(path: $0)) }
        let name = (file as NSString).lastPathComponent
        let inspection = try LoraInspection.run(lora, base: catalog, modelName: base.map { ($0 as NSString).lastPathComponent } ?? "model")
        if let out {
            let images = try LoraReport.pictures(inspection, title: name)
            do { try Data(images[0].png).write(to: URL(fileURLWithPath: out)) } catch {
                throw CLIError.failure(file: out, "Cannot write the image: \(CLIError.reason(error)).")
            }
        }
        return LoraReport.json(inspection).serialized(pretty: true)
    }
}
