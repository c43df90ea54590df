import ArgumentParser
import Foundation
import ModelCatalog
import TensorCore

/// `weightlens make-checkpoint`: write a deterministic synthetic checkpoint with a real key layout.
struct MakeCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-checkpoint",
        abstract: "Write a synthetic SDXL, SD 1.5, Flux.1 or SD3.5 .safetensors checkpoint with structured weights.",
        discussion: """
        The keys and shapes are the real single-file layout; the weights are deterministic low-rank
        matrices and Gabor-like conv kernels, so SVD, NMF and filter views show structure.
        --scale N divides channel widths (1 = full size: SDXL f16 with --parts all is 6.9 GB,
        Flux.1-dev bf16 23.8 GB). The flux and sd35 layouts hold the diffusion model only;
        --parts diffusion-model writes it without the model.diffusion_model. prefix, as the files
        in models/diffusion_models name it.
        """)

    @Option(help: "sdxl | sd15 | flux (Flux.1-dev) | flux-schnell | sd35 (SD3.5 large)")
    var layout: String

    @Option(help: "Width divisor, 1 = full size.")
    var scale: Int = 1

    @Option(help: "f16 | bf16 | f32 (float tensors; integer tensors keep their type).")
    var dtype: String = "f16"

    @Option(help: "unet | all | diffusion-model")
    var parts: String = "all"

    @Option(help: "Random seed; the same arguments always give the same bytes.")
    var seed: UInt64 = 0

    @Option(help: "Output .safetensors path.")
    var out: String

    func run() throws {
        try CLIError.run(file: out) {
            guard let layout = SyntheticCheckpoint.Layout(rawValue: layout) else {
                throw CLIError.failure(file: nil, "--layout must be sdxl, sd15, flux, flux-schnell or sd35, not '\(self.layout)'")
            }
            guard let parts = SyntheticCheckpoint.Parts(rawValue: parts) else {
                throw CLIError.failure(file: nil, "--parts must be unet, all or diffusion-model, not '\(self.parts)'")
            }
            let types: [String: DType] = ["f16": .f16, "bf16": .bf16, "f32": .f32]
            guard let dtype = types[dtype.lowercased()] else {
                throw CLIError.failure(file: nil, "--dtype must be f16, bf16 or f32, not '\(self.dtype)'")
            }
            let plan = try SyntheticCheckpoint.plan(layout: layout, scale: scale, dtype: dtype, parts: parts)
            let start = Date()
            try SyntheticCheckpoint.write(layout: layout, scale: scale, dtype: dtype, parts: parts, seed: seed, to: out)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            let seconds = Date().timeIntervalSince(start)
            print("wrote \(out): \(plan.count) tensors, \(bytes) bytes, layout \(layout.rawValue), scale \(scale), "
                  + "dtype \(dtype.rawValue), parts \(parts.rawValue), seed \(seed), \(String(format: "%.1f", seconds)) s")
        }
    }
}
