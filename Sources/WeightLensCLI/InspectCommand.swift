import Analysis
import ArgumentParser
import Checkpoint
import Foundation
import LTNodes
import ModelCatalog
import OrderedJSON
import Render
import TensorCore

/// `weightlens inspect`: statistics and top singular values of one layer.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Statistics and top singular values of one layer's weight.",
        discussion: """
        The weight is viewed as a matrix (out, in·kh·kw). --json prints one object with the keys
        layer, key, shape, dtype, parameters, stats {mean, std, min, max, near_zero_fraction,
        l2_norm}, singular_values and spectral {spectral_norm, stable_rank, effective_rank}.
        effective_rank needs the whole spectrum, which costs several times the rest of the command:
        it is null unless --effective-rank is given. With --lora the layer is read as W + strength·dW
        and the JSON gains `loras` [{file, strength, changes_layer}]. See docs/CLI.md and docs/ENGINE.md.
        """)

    @Argument(help: "Checkpoint: .safetensors/.sft, *.safetensors.index.json, .pt/.pth/.ckpt/.bin, .gguf.")
    var file: String

    @Option(help: "Layer name (as `weightlens layers` lists it) or full tensor key.")
    var layer: String

    @Option(name: .customLong("top-k"), help: "Number of singular values (clamped to the matrix's short side).")
    var topK: Int = 16

    @Flag(help: "Print JSON, with spectral metrics (spectral norm, stable rank, effective rank).")
    var json = false

    @Flag(name: .customLong("effective-rank"),
          help: "Also compute the effective rank, which needs the whole singular value spectrum (several times slower).")
    var effectiveRank = false

    @Option(name: .customLong("lora"), parsing: .singleValue, help: ArgumentHelp(LoraOption.help, valueName: "file[:strength]"))
    var loras: [String] = []

    func run() throws {
        try CLIError.run(file: file) {
            FileHandle.standardOutput.write(Data(try Self.output(file: file, layer: layer, topK: topK, json: json,
                                                                 effectiveRank: effectiveRank, loras: loras).utf8))
        }
    }

    /// The text the command prints (separate so tests can call it in-process).
    static func output(file: String, layer name: String, topK: Int, json: Bool, effectiveRank: Bool = false,
                       loras: [String] = []) throws -> String {
        guard topK >= 1 else { throw CLIError.failure(file: nil, "--top-k must be at least 1, got \(topK).") }
        let checkpoint = try CheckpointFile.open(path: file)
        let (model, applied) = try LoraOption.model(checkpoint, name: (file as NSString).lastPathComponent, specs: loras)
        let catalog = model.catalog
        let layer = try catalog.layer(named: name)
        let tensor = try catalog.loadWeight(layer)
        // A scaled-fp8 weight: the stored fp8 values are multiplied by this scale before any analysis.
        let scale = try layer.scaleKey.map { (key: $0, values: try checkpoint.loadTensor($0).values) }
        let matrix = Matrix(tensor)
        let k = min(topK, min(matrix.rows, matrix.cols))
        // The statistics run beside the SVD: the SVD's per-step eigenvalue problems are serial, and
        // the statistics fill the other core meanwhile.
        let statistics = StatisticsSlot()
        var svd: Result<[Float], AnalysisError> = .success([])
        LayerRenderer.sideBySide(background: { statistics.value = weightStatistics(tensor, histogram: false) }) {
            // Tolerance 1e-4 on the Ritz values' change between Krylov steps: the printed values
            // then agree with LAPACK to ~4e-5 relative on the benchmark layers (bench/engine; the
            // fifth and sixth printed digits may differ), at about two thirds of the steps 1e-5
            // needs. Values only: the statistics print no histogram, so none is computed.
            if k > 0 { svd = Result { () throws(AnalysisError) in try topSingularValues(matrix, rank: k, tolerance: 1e-4) } }
        }
        let values = try svd.get()
        let stats = statistics.value!
        // σ₁ and ‖W‖F are already known: the spectral norm and stable rank cost nothing more.
        let p = min(matrix.rows, matrix.cols)
        let cheap = spectralMetrics(singularValues: values, frobeniusNorm: Float(stats.l2Norm), shortSide: p)
        let fullRank: Float? = effectiveRank ? try spectralMetrics(matrix).effectiveRank : nil
        if json {
            let object = JSONObject([
                ("layer", .string(layer.name)),
                ("key", .string(layer.weightKey)),
                ("shape", .array(layer.shape.map { .number($0) })),
                ("dtype", .string(layer.storedType)),
                ("parameters", .number(layer.parameters)),
            ] + (loras.isEmpty ? [] : [("loras", JSON.array(applied.map { a in .object(JSONObject([
                ("file", .string(a.file)), ("strength", .double(a.strength)), ("changes_layer", .bool(a.alone.isPatched(layer))),
            ])) }))]) + (scale.map { s in [("scale", JSON.object(JSONObject([
                ("key", .string(s.key)),
                ("values", .array(s.values.prefix(64).map { jsonNumber($0) })),
                ("count", .number(s.values.count)),
            ])))] } ?? []) + [
                ("stats", .object(JSONObject([
                    ("mean", jsonNumber(stats.mean)),
                    ("std", jsonNumber(stats.std)),
                    ("min", jsonNumber(stats.min)),
                    ("max", jsonNumber(stats.max)),
                    ("near_zero_fraction", jsonNumber(stats.nearZeroFraction)),
                    ("l2_norm", jsonNumber(stats.l2Norm)),
                ]))),
                ("singular_values", .array(values.map { jsonNumber($0) })),
                ("spectral", .object(JSONObject([
                    ("spectral_norm", jsonNumber(cheap.spectralNorm)),
                    ("stable_rank", jsonNumber(cheap.stableRank)),
                    ("effective_rank", fullRank.map { jsonNumber($0) } ?? .null),
                ]))),
            ])
            return JSON.object(object).serialized(pretty: true) + "\n"
        }
        var lines = [
            "layer       \(layer.name)",
            "key         \(layer.weightKey)",
            "shape       \(layer.shape) \(layer.storedType), \(layer.parameters) parameters",
        ]
        for a in applied {
            lines.append("lora        \(a.file) x \(format(a.strength)): \(a.alone.isPatched(layer) ? "changes this layer (values below are W + strength x dW)" : "does not change this layer")")
        }
        if let scale {
            let shown = scale.values.prefix(4).map { format(Double($0)) }.joined(separator: ", ")
            let more = scale.values.count > 4 ? ", … (\(scale.values.count) values, one per output channel)" : ""
            lines.append("scale       \(shown)\(more) from \(scale.key); values below are stored × scale")
        }
        lines += [
            "matrix      \(matrix.rows) × \(matrix.cols)",
            "mean        \(format(stats.mean))",
            "std         \(format(stats.std))",
            "min / max   \(format(Double(stats.min))) / \(format(Double(stats.max)))",
            "near zero   \(format(stats.nearZeroFraction * 100))% (|w| < \(stats.nearZeroThreshold))",
            "L2 norm     \(format(stats.l2Norm))",
        ]
        if !stats.deadFilters.isEmpty {
            lines.append("dead        \(stats.deadFilters.count) output channels: \(stats.deadFilters.prefix(20).map(String.init).joined(separator: ", "))")
        }
        lines.append("spectral    norm \(format(Double(cheap.spectralNorm))), stable rank \(format(Double(cheap.stableRank)))"
                     + (fullRank.map { ", effective rank \(format(Double($0)))" } ?? ""))
        lines.append("singular values (top \(values.count)):")
        for (i, s) in values.enumerated() { lines.append(String(format: "  %3d  %.6g", i + 1, Double(s))) }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A JSON number for a Float, printed with the shortest digits that round-trip the Float
/// (not the 17 digits of its Double widening); null for NaN or infinity.
func jsonNumber(_ value: Float) -> JSON {
    guard value.isFinite else { return .null }
    return .double(Double(value.description) ?? Double(value))
}

/// A JSON number for a Double; null for NaN or infinity.
func jsonNumber(_ value: Double) -> JSON {
    value.isFinite ? .double(value) : .null
}

/// Six significant digits for the text outputs.
func format(_ value: Double) -> String { String(format: "%.6g", value) }

/// The statistics computed on the background thread of `LayerRenderer.sideBySide`, read after it
/// has joined (the join orders the write before the read).
private final class StatisticsSlot: @unchecked Sendable {
    var value: WeightStatistics?
}
