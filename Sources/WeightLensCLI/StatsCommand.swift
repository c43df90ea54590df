import ArgumentParser
import Checkpoint
import Foundation
import LTNodes
import ModelCatalog

/// `weightlens stats`: the statistics report of `LTWeightStats`, for every matching layer.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Statistics of every matching layer as JSON (the report of the LTWeightStats node).",
        discussion: """
        Prints a JSON array with one object per layer: name, shape, dtype, parameters, mean, std,
        min, max, near_zero_fraction (|w| < 1e-3), l2_norm and dead_filters (output channels whose
        |w| all stay below 1e-3 × the layer's max |w|). Draw the same pictures with
        `weightlens render FILE --layers FILTER --view stats`. See docs/CLI.md.
        """)

    @Argument(help: "Checkpoint: .safetensors/.sft, *.safetensors.index.json, .pt/.pth/.ckpt/.bin, .gguf.")
    var file: String

    @Option(help: "Layers: substring, glob (*, ?) or U-Net block expression (IN04, IN00-M00); default all.")
    var filter: String = ""

    @Option(help: "Histogram bins used for the statistics (8–512).")
    var bins: Int = 64

    func run() throws {
        try CLIError.run(file: file) {
            FileHandle.standardOutput.write(Data(try Self.output(file: file, filter: filter, bins: bins).utf8))
        }
    }

    static func output(file: String, filter: String, bins: Int) throws -> String {
        guard (8...512).contains(bins) else { throw CLIError.failure(file: nil, "--bins must be in 8...512, got \(bins).") }
        let checkpoint = try CheckpointFile.open(path: file)
        let result = try WeightStatsReport.compute(checkpoint, catalog: LayerCatalog(checkpoint: checkpoint), filter: filter, bins: bins)
        return result.report.serialized(pretty: true) + "\n"
    }
}
