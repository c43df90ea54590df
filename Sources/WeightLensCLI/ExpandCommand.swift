import Analysis
import ArgumentParser
import Checkpoint
import Foundation
import ModelCatalog
import OrderedJSON
import TensorCore

/// `weightlens expand`: expanded weights — products of adjacent layers, non-linearities ignored.
struct ExpandCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expand",
        abstract: "Expanded weights: compose a chain of layers, or an attention module's per-head QK/OV circuits.",
        discussion: """
        --layers A,B[,C…]   layers applied in that order; convs compose into one larger kernel
                            (3×3 ∘ 3×3 → 5×5, 1×1 bottlenecks are jumped over), linear layers multiply.
        --attention NAME    an attention module (e.g. …transformer_blocks.0.attn1): QK = W_Qᵀ·W_K and
                            OV = W_O·W_V per head, from NAME.to_q/to_k/to_v/to_out.0.
        Prints shape, statistics and top singular values of the result (per head for attention).
        See docs/CLI.md.
        """)

    @Argument(help: "Checkpoint: .safetensors/.sft, *.safetensors.index.json, .pt/.pth/.ckpt/.bin, .gguf.")
    var file: String

    @Option(help: "Comma-separated layer names, first applied first.")
    var layers: String?

    @Option(help: "Attention module name (its to_q, to_k, to_v and to_out.0 layers are used).")
    var attention: String?

    @Option(help: "Attention head count (default: inner width / 64, the SD 2.x/SDXL head size; SD 1.x uses 8).")
    var heads: Int?

    @Option(name: .customLong("top-k"), help: "Singular values reported per result.")
    var topK: Int = 8

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try CLIError.run(file: file) {
            FileHandle.standardOutput.write(Data(try Self.output(file: file, layers: layers, attention: attention,
                                                                 heads: heads, topK: topK, json: json).utf8))
        }
    }

    static func output(file: String, layers: String?, attention: String?, heads: Int?, topK: Int, json: Bool) throws -> String {
        guard (layers == nil) != (attention == nil) else {
            throw CLIError.failure(file: nil, "Give exactly one of --layers A,B[,C…] or --attention NAME.")
        }
        guard topK >= 1 else { throw CLIError.failure(file: nil, "--top-k must be at least 1, got \(topK).") }
        let checkpoint = try CheckpointFile.open(path: file)
        let catalog = LayerCatalog(checkpoint: checkpoint)
        if let attention {
            return try attentionOutput(checkpoint, catalog, module: attention, heads: heads, topK: topK, json: json)
        }
        let names = (layers ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count >= 2 else {
            throw CLIError.failure(file: nil, "--layers needs at least two comma-separated layer names, got '\(layers ?? "")'.")
        }
        let resolved = try names.map { try catalog.layer(named: $0) }
        let tensors = try resolved.map { try catalog.loadWeight($0) }
        let result = try expandChain(tensors)
        let summary = try describe(result, topK: topK)
        if json {
            let object = JSONObject([
                ("layers", .array(resolved.map { .string($0.name) })),
                ("shapes", .array(resolved.map { .array($0.shape.map { .number($0) }) })),
                ("shape", .array(result.shape.map { .number($0) })),
            ] + summary.json)
            return JSON.object(object).serialized(pretty: true) + "\n"
        }
        var lines = ["chain       " + resolved.map { "\($0.name) \($0.shape)" }.joined(separator: " → ")]
        lines.append("result      \(result.shape)")
        lines += summary.text
        return lines.joined(separator: "\n") + "\n"
    }

    static func attentionOutput(_ checkpoint: CheckpointFile, _ catalog: LayerCatalog, module: String, heads: Int?,
                                topK: Int, json: Bool) throws -> String {
        let parts = ["to_q", "to_k", "to_v", "to_out.0"]
        let resolved = try parts.map { try catalog.layer(named: module + "." + $0) }
        let t = try resolved.map { try catalog.loadWeight($0) }
        let inner = t[0].shape.first ?? 0
        let headCount = heads ?? max(1, inner / 64)
        let circuits = try attentionCircuits(query: t[0], key: t[1], value: t[2], output: t[3], heads: headCount)
        var headObjects = [JSON]()
        var lines = ["attention   \(module)", "heads       \(headCount) × \(inner / headCount)"]
        for c in circuits {
            let qk = try svdSummary(c.qk, topK: topK), ov = try svdSummary(c.ov, topK: topK)
            headObjects.append(.object(JSONObject([
                ("head", .number(c.head)),
                ("qk_shape", .array([.number(c.qk.rows), .number(c.qk.cols)])),
                ("qk_frobenius_norm", jsonNumber(c.qk.frobeniusNorm)),
                ("qk_singular_values", .array(qk.map { jsonNumber($0) })),
                ("ov_shape", .array([.number(c.ov.rows), .number(c.ov.cols)])),
                ("ov_frobenius_norm", jsonNumber(c.ov.frobeniusNorm)),
                ("ov_singular_values", .array(ov.map { jsonNumber($0) })),
            ])))
            lines.append(String(format: "head %2d     QK ‖·‖F %.4g  σ %@   OV ‖·‖F %.4g  σ %@", c.head,
                                Double(c.qk.frobeniusNorm), qk.prefix(4).map { format(Double($0)) }.joined(separator: " "),
                                Double(c.ov.frobeniusNorm), ov.prefix(4).map { format(Double($0)) }.joined(separator: " ")))
        }
        if json {
            return JSON.object(JSONObject([
                ("attention", .string(module)),
                ("layers", .array(resolved.map { .string($0.name) })),
                ("heads", .number(headCount)),
                ("head_dim", .number(inner / headCount)),
                ("circuits", .array(headObjects)),
            ])).serialized(pretty: true) + "\n"
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func svdSummary(_ m: Matrix, topK: Int) throws -> [Float] {
        let k = min(topK, min(m.rows, m.cols))
        return k > 0 ? try topSingularValues(m, rank: k) : []
    }

    static func describe(_ t: Tensor, topK: Int) throws -> (text: [String], json: [(String, JSON)]) {
        let stats = weightStatistics(t)
        let values = try svdSummary(Matrix(t), topK: topK)
        let text = [
            "mean / std  \(format(stats.mean)) / \(format(stats.std))",
            "min / max   \(format(Double(stats.min))) / \(format(Double(stats.max)))",
            "L2 norm     \(format(stats.l2Norm))",
            "singular values (top \(values.count)): " + values.map { format(Double($0)) }.joined(separator: " "),
        ]
        let json: [(String, JSON)] = [
            ("stats", .object(JSONObject([
                ("mean", jsonNumber(stats.mean)), ("std", jsonNumber(stats.std)),
                ("min", jsonNumber(stats.min)), ("max", jsonNumber(stats.max)),
                ("near_zero_fraction", jsonNumber(stats.nearZeroFraction)), ("l2_norm", jsonNumber(stats.l2Norm)),
            ]))),
            ("singular_values", .array(values.map { jsonNumber($0) })),
        ]
        return (text, json)
    }
}
