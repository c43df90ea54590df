import Checkpoint
import TensorCore

/// A change applied to some layers' weights when they are read: what a LoRA-patched MODEL is.
///
/// `LayerCatalog.patched(with:)` returns a catalogue whose `loadWeight` gives W + ΔW for the layers
/// the patch touches, computed for that one layer when it is asked for; every analysis that reads
/// weights through the catalogue sees the patched model and nothing else changes (names, shapes,
/// blocks). The patch itself lives in a module above this one (LoRA), which owns the formulas.
public protocol WeightPatch: Sendable {
    /// Identifies the patch's content for headers and cache keys (file stamps and strengths).
    var identity: String { get }
    /// Whether reading this weight key applies a change.
    func touches(weightKey: String) -> Bool
    /// The patched weight, given the stored weight (already scaled if it is scaled fp8).
    func apply(to weight: Tensor, layer: Layer) throws(CheckpointError) -> Tensor
}

/// Patches applied one after the other (a LoRA loader fed a MODEL that already carries a LoRA).
struct ChainedPatch: WeightPatch {
    let patches: [any WeightPatch]

    var identity: String { patches.map(\.identity).joined(separator: " + ") }

    func touches(weightKey: String) -> Bool { patches.contains { $0.touches(weightKey: weightKey) } }

    func apply(to weight: Tensor, layer: Layer) throws(CheckpointError) -> Tensor {
        var w = weight
        for p in patches where p.touches(weightKey: layer.weightKey) { w = try p.apply(to: w, layer: layer) }
        return w
    }
}
