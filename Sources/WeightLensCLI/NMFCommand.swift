import Analysis
import ArgumentParser
import Checkpoint
import Foundation
import ModelCatalog
import OrderedJSON
import TensorCore

/// `weightlens nmf`: one-sided NMF of a conv layer over its input channels.
struct NMFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nmf",
        abstract: "Factor a conv (or linear) layer over its input channels into non-negative factors.",
        discussion: """
        X[(out, y, x), in] = W[out, in, y, x] ≈ L·F with F ≥ 0 (rank × in) and L signed, so each
        output neuron's kernel becomes a kh×kw image with `rank` colour channels (Distill,
        "Visualizing Weights"). --json prints layer, key, shape, rank, relative_error, iterations,
        output_channels, factors (rank × in) and loadings ([neurons, kh, kw, rank], flattened).
        See docs/CLI.md.
        """)

    @Argument(help: "Checkpoint: .safetensors/.sft, *.safetensors.index.json, .pt/.pth/.ckpt/.bin, .gguf.")
    var file: String

    @Option(help: "Layer name (as `weightlens layers` lists it) or full tensor key.")
    var layer: String

    @Option(help: "Number of factors.")
    var rank: Int = 3

    @Option(help: "Factor only these output channels together, e.g. 0,5,17 (default: all).")
    var channels: String?

    @Flag(help: "Print JSON with the factors and loadings.")
    var json = false

    func run() throws {
        try CLIError.run(file: file) {
            FileHandle.standardOutput.write(Data(try Self.output(file: file, layer: layer, rank: rank, channels: channels, json: json).utf8))
        }
    }

    static func output(file: String, layer name: String, rank: Int, channels: String?, json: Bool) throws -> String {
        var selected: [Int]?
        if let channels {
            let parts = channels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let numbers = parts.compactMap { Int($0) }
            guard numbers.count == parts.count, !numbers.isEmpty else {
                throw CLIError.failure(file: nil, "--channels must be a comma-separated list of channel numbers, got '\(channels)'.")
            }
            selected = numbers
        }
        let checkpoint = try CheckpointFile.open(path: file)
        let catalog = LayerCatalog(checkpoint: checkpoint)
        let layer = try catalog.layer(named: name)
        let tensor = try catalog.loadWeight(layer)
        let result = try oneSidedNMF(convWeight: tensor, rank: rank, outputChannels: selected)
        if json {
            let factorRows: [JSON] = (0..<result.rank).map { t in
                .array((0..<result.factors.cols).map { jsonNumber(result.factors[t, $0]) })
            }
            let object = JSONObject([
                ("layer", .string(layer.name)),
                ("key", .string(layer.weightKey)),
                ("shape", .array(layer.shape.map { .number($0) })),
                ("rank", .number(result.rank)),
                ("relative_error", jsonNumber(result.relativeError)),
                ("iterations", .number(result.iterations)),
                ("output_channels", .array(result.outputChannels.map { .number($0) })),
                ("factors", .array(factorRows)),
                ("loadings_shape", .array(result.loadings.shape.map { .number($0) })),
                ("loadings", .array(result.loadings.values.map { jsonNumber($0) })),
            ])
            return JSON.object(object).serialized() + "\n"
        }
        var lines = [
            "layer           \(layer.name)",
            "shape           \(layer.shape)",
            "rank            \(result.rank)",
            "relative error  \(format(Double(result.relativeError)))",
            "iterations      \(result.iterations)",
            "neurons         \(result.outputChannels.count)",
        ]
        for t in 0..<result.rank {
            let row = (0..<result.factors.cols).map { (channel: $0, weight: result.factors[t, $0]) }
            let top = row.sorted { $0.weight > $1.weight }.prefix(8)
            lines.append("factor \(t): strongest input channels " + top.map { "\($0.channel) (\(format(Double($0.weight))))" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
