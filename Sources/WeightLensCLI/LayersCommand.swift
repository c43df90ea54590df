import ArgumentParser
import Checkpoint
import Foundation
import ModelCatalog
import OrderedJSON

/// `weightlens layers`: list the layers of a checkpoint.
struct LayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "List the layers (modules with a .weight) of a checkpoint.",
        discussion: """
        For diffusion checkpoints the diffusion model's layers are listed relative to
        model.diffusion_model., in model order (as LatentTools' layer list names them); other files
        list every module in file order. --filter takes a substring, a glob (* and ?) or U-Net blocks
        (IN04, IN00-M00, OUT00-OUT08(+2), comma lists). See docs/FORMATS.md.
        """)

    @Argument(help: "Checkpoint: .safetensors/.sft, *.safetensors.index.json, .pt/.pth/.ckpt/.bin.")
    var file: String

    @Option(help: "Substring, glob (* ?) or block expression (IN00-OUT08(+2)).")
    var filter: String = ""

    @Flag(help: "Print a JSON array of {name, shape, dtype, parameters, block}.")
    var json = false

    @Flag(help: "Without --filter: also list text encoder, VAE and other modules (full module paths).")
    var all = false

    func run() throws {
        try CLIError.run(file: file) {
            let output = try Self.output(file: file, filter: filter, json: json, all: all)
            FileHandle.standardOutput.write(Data(output.utf8))
        }
    }

    /// The text the command prints (kept separate so tests can call it in-process).
    static func output(file: String, filter: String, json: Bool, all: Bool) throws -> String {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: file))
        var layers = try catalog.filter(filter)
        if all && filter.isEmpty { layers = catalog.allLayers }
        if json {
            // One compact object per line: readable, greppable and fast for 2,500-layer files.
            let lines = layers.map { layer in
                JSON.object(JSONObject([
                    ("name", .string(layer.name)),
                    ("shape", .array(layer.shape.map { .number($0) })),
                    ("dtype", .string(layer.dtype.rawValue)),
                    ("parameters", .number(layer.parameters)),
                    ("block", layer.block.map { .string($0) } ?? .null),
                ])).serialized()
            }
            return lines.isEmpty ? "[]\n" : "[\n  " + lines.joined(separator: ",\n  ") + "\n]\n"
        }
        var text = ""
        text.reserveCapacity(layers.count * 48)
        for layer in layers {
            text += layer.name
            text += "\n"
        }
        return text
    }
}
