import ArgumentParser
import Checkpoint
import Foundation
import ModelCatalog
import TensorCore

/// `weightlens make-checkpoint`: write a deterministic synthetic checkpoint with a real key layout.
struct MakeCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-checkpoint",
        abstract: "Write a synthetic SDXL, SD 1.5, Flux.1 or SD3.5 checkpoint (.safetensors or GGUF) with structured weights.",
        discussion: """
        The keys and shapes are the real single-file layout; the weights are deterministic low-rank
        matrices and Gabor-like conv kernels, so SVD, NMF and filter views show structure.
        --scale N divides channel widths (1 = full size: SDXL f16 with --parts all is 6.9 GB,
        Flux.1-dev bf16 23.8 GB). The flux and sd35 layouts hold the diffusion model only;
        --parts diffusion-model writes it without the model.diffusion_model. prefix, as the files
        in models/diffusion_models name it. --format gguf --quant TYPE writes a GGUF file as
        ComfyUI-GGUF loads them: 2-D+ float weights of more than 1,024 elements whose rows are
        whole blocks in TYPE (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K,
        Q6_K), other float tensors F32 (1-D, small) or F16; the values are those of --dtype f32.
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

    @Option(help: "safetensors | gguf")
    var format: String = "safetensors"

    @Option(help: "GGML type of the weights with --format gguf: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K.")
    var quant: String?

    @Option(help: "Output path (.safetensors or .gguf).")
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
            let start = Date()
            let count: Int
            let written: String
            switch format.lowercased() {
            case "safetensors":
                guard quant == nil else { throw CLIError.failure(file: nil, "--quant needs --format gguf") }
                count = try SyntheticCheckpoint.plan(layout: layout, scale: scale, dtype: dtype, parts: parts).count
                try SyntheticCheckpoint.write(layout: layout, scale: scale, dtype: dtype, parts: parts, seed: seed, to: out)
                written = "dtype \(dtype.rawValue)"
            case "gguf":
                let names = GGMLType.quantizable.map(\.name).joined(separator: ", ")
                guard let type = GGMLType(name: quant ?? "Q8_0"), GGMLType.quantizable.contains(type) else {
                    throw CLIError.failure(file: nil, "--quant must be one of \(names), not '\(quant ?? "")'")
                }
                count = try SyntheticCheckpoint.planGGUF(layout: layout, scale: scale, parts: parts, quant: type).count
                try SyntheticCheckpoint.writeGGUF(layout: layout, scale: scale, parts: parts, quant: type, seed: seed, to: out)
                written = "GGUF \(type.name)"
            default:
                throw CLIError.failure(file: nil, "--format must be safetensors or gguf, not '\(format)'")
            }
            let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            let seconds = Date().timeIntervalSince(start)
            print("wrote \(out): \(count) tensors, \(bytes) bytes, layout \(layout.rawValue), scale \(scale), "
                  + "\(written), parts \(parts.rawValue), seed \(seed), \(String(format: "%.1f", seconds)) s")
        }
    }
}
