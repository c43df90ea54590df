import Checkpoint
import Foundation
import LTNodes
import ModelCatalog

/// `--lora FILE[:STRENGTH]` of `inspect` and `render`: the checkpoint is read as a LoRA loader node
/// would hand it on, every layer a LoRA changes seen as W + strength·ΔW (computed when the layer is
/// read, nothing merged). Repeatable; the LoRAs apply in the order given, each at its own strength
/// (1 when none is given), to the diffusion model and the text encoders alike.
enum LoraOption {
    static let help = "LoRA applied before reading weights: FILE or FILE:STRENGTH (default 1). Repeatable."

    /// `FILE[:STRENGTH]`: the text after the last colon is the strength when it is a number, so a
    /// file name with a colon still works without one.
    static func parse(_ spec: String) throws -> (path: String, strength: Double) {
        if let colon = spec.lastIndex(of: ":"), colon != spec.startIndex {
            let tail = spec[spec.index(after: colon)...]
            if let value = Double(tail) {
                guard value.isFinite else { throw CLIError.failure(file: nil, "--lora \(spec): the strength must be a finite number.") }
                return (String(spec[..<colon]), value)
            }
        }
        guard !spec.isEmpty else { throw CLIError.failure(file: nil, "--lora needs a file (FILE or FILE:STRENGTH).") }
        return (spec, 1)
    }

    /// One `--lora` as applied: its file, strength, and the base catalogue with this LoRA alone
    /// (to tell which layers it changes).
    struct Applied {
        let file: String
        let strength: Double
        let alone: LayerCatalog
    }

    /// The checkpoint, named `name`, with `specs` applied in order.
    static func model(_ checkpoint: CheckpointFile, name: String, specs: [String]) throws -> (model: LoadedCheckpoint, applied: [Applied]) {
        let base = LoadedCheckpoint(name: name, file: checkpoint)
        var handle = base
        var applied: [Applied] = []
        for spec in specs {
            let (path, strength) = try parse(spec)
            do {
                handle = try LoraLoading.apply(path: path, strength: strength, to: handle)
                applied.append(Applied(file: path, strength: strength,
                                       alone: try LoraLoading.apply(path: path, strength: strength, to: base).catalog))
            } catch {
                throw CLIError.failure(file: path, error.description.hasSuffix(".") ? error.description : error.description + ".")
            }
        }
        return (handle, applied)
    }
}
