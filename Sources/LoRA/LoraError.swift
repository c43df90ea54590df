// LoRA: LoRA / LyCORIS files (kohya, diffusers/PEFT, ComfyUI, LoHa, LoKr, full diff), their
// mapping onto a model's layers and the lazy W + strength·ΔW patch (docs/FORMATS.md, LoRA section).
import Checkpoint

/// Why a LoRA file cannot be used. Each case names the file and what was found.
public enum LoraError: Error, CustomStringConvertible, Equatable {
    /// The container itself cannot be read (truncated, hostile header, forbidden pickle global…).
    case unreadable(CheckpointError)
    /// No key of the file has a LoRA / LyCORIS suffix; `found` says what the file looks like.
    case notALora(path: String, found: String)
    /// A module has one half of a pair but not the other (`lora_up` without `lora_down`…).
    case missingPart(path: String, module: String, present: String, missing: String)
    /// The factors of a module do not fit together (`reason` gives the shapes).
    case shapeMismatch(path: String, module: String, reason: String)
    /// A module declares rank 0.
    case zeroRank(path: String, module: String)
    /// A module declares a rank larger than its layer can have (min of output and input size).
    case rankTooLarge(path: String, module: String, rank: Int, limit: Int)
    /// `alpha` is not one finite number.
    case invalidAlpha(path: String, module: String, reason: String)
    /// ΔW would hold more elements than the limit, or its size overflows.
    case tooLarge(path: String, module: String, reason: String)
    /// A factor is stored as integers or bools.
    case notFloatingPoint(path: String, tensor: String, dtype: String)
    /// None of the LoRA's modules maps onto the model's layers; `loraFamily` is what it matches instead.
    case wrongModel(path: String, loraFamily: String, model: String)
    /// ΔW has a different number of elements than the layer it maps onto.
    case targetMismatch(path: String, module: String, layer: String, delta: [Int], target: [Int])

    public var description: String {
        switch self {
        case .unreadable(let e):
            return e.description
        case .notALora(let p, let found):
            return "\(p): is not a LoRA: no key ends in a LoRA or LyCORIS suffix (lora_up/lora_down, lora_A/lora_B, hada_w1_a, lokr_w1, diff...); \(found)"
        case .missingPart(let p, let m, let present, let missing):
            return "\(p): LoRA module '\(m)' has '\(present)' but no '\(missing)'"
        case .shapeMismatch(let p, let m, let r):
            return "\(p): LoRA module '\(m)' has factors that do not fit together: \(r)"
        case .zeroRank(let p, let m):
            return "\(p): LoRA module '\(m)' has rank 0"
        case .rankTooLarge(let p, let m, let rank, let limit):
            return "\(p): LoRA module '\(m)' declares rank \(rank), more than its layer can have (\(limit))"
        case .invalidAlpha(let p, let m, let r):
            return "\(p): LoRA module '\(m)' has an invalid alpha: \(r)"
        case .tooLarge(let p, let m, let r):
            return "\(p): LoRA module '\(m)' is too large: \(r)"
        case .notFloatingPoint(let p, let t, let d):
            return "\(p): LoRA tensor '\(t)' is stored as \(d), not as floating point"
        case .wrongModel(let p, let fam, let model):
            return "\(p): this LoRA is for \(fam); none of its modules maps onto a layer of \(model)"
        case .targetMismatch(let p, let m, let layer, let delta, let target):
            return "\(p): LoRA module '\(m)' gives a delta of shape \(delta) but layer '\(layer)' has shape \(target)"
        }
    }
}
