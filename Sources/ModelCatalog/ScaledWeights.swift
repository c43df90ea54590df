import Checkpoint
import TensorCore

/// ComfyUI's scaled fp8 weights: a `float8_e4m3fn` / `float8_e5m2` weight stored as value / scale
/// with its scale in a `float32` tensor beside it.
///
/// ComfyUI's scaled-fp8 operations (`comfy/ops.py`, `scaled_fp8_ops`) give every Linear a scalar
/// `scale_weight` parameter and compute with `weight.to(dtype) * scale_weight`; the files carry
/// `<module>.scale_weight` next to `<module>.weight` (and a `scaled_fp8` marker tensor). Its newer
/// mixed-precision format names the same scalar `<module>.weight_scale`. Both are scalars in the
/// files ComfyUI writes; a per-output-channel scale (one value per row) is applied row by row.
enum ScaledWeights {
    /// The scale tensor's key for the fp8 weight of `module`, or nil when the weight is not fp8, has
    /// no scale beside it, or the scale is neither a scalar nor one value per output channel.
    static func scaleKey(module: String, weight: TensorEntry, in file: CheckpointFile) -> String? {
        guard weight.dtype == .f8e4m3 || weight.dtype == .f8e5m2 else { return nil }
        for key in [module + ".scale_weight", module + ".weight_scale"] {
            guard let scale = file.entry(named: key), scale.dtype.isFloatingPoint else { continue }
            let count = scale.parameterCount
            if count == 1 || (weight.shape.first.map { $0 == count && count > 0 } ?? false) { return key }
        }
        return nil
    }

    /// `weight` × `scale`: one scalar, or one value per output channel (row).
    static func apply(scale: Tensor, to weight: Tensor) -> Tensor {
        var values = weight.values
        if scale.values.count == 1 {
            let s = scale.values[0]
            for i in values.indices { values[i] *= s }
        } else if let rows = weight.shape.first, rows == scale.values.count, rows > 0 {
            let rowLength = values.count / rows
            for r in 0..<rows {
                let s = scale.values[r]
                for i in r * rowLength..<(r + 1) * rowLength { values[i] *= s }
            }
        }
        return Tensor(shape: weight.shape, values: values)
    }
}
