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

    @Argument(help: "Checkpoint: .safetensors/.sft, *.safetensors.index.json, .pt/.pth/.ckpt/.bin, .gguf.")
    var file: String

    @Option(help: "Substring, glob (* ?) or block expression (IN00-OUT08(+2)).")
    var filter: String = ""

    @Flag(help: "Print a JSON array of {name, shape, dtype, parameters, block}.")
    var json = false

    @Flag(help: "Without --filter: also list text encoder, VAE and other modules (full module paths).")
    var all = false

    func run() throws {
        try CLIError.run(file: file) {
            let layers = try Self.layers(file: file, filter: filter, all: all)
            FileHandle.standardOutput.write(Data(Self.format(layers, json: json).utf8))
            // An empty list is a valid answer (status 0), but silence would look like a failure,
            // so stderr says why nothing was printed.
            if layers.isEmpty && !filter.isEmpty {
                CLIError.report(CLIError.failure(file: file, "no layer matches '\(filter)'."), file: file)
            }
        }
    }

    /// The text the command prints (kept separate so tests can call it in-process).
    static func output(file: String, filter: String, json: Bool, all: Bool) throws -> String {
        format(try layers(file: file, filter: filter, all: all), json: json)
    }

    /// The layers selected by `filter` (all diffusion layers, or every module with `all`, when empty).
    static func layers(file: String, filter: String, all: Bool) throws -> [Layer] {
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: file))
        if all && filter.isEmpty { return catalog.allLayers }
        return try catalog.filter(filter)
    }

    /// One name per line, or the JSON array of `{name, shape, dtype, parameters, block}`.
    static func format(_ layers: [Layer], json: Bool) -> String {
        if json {
            // One compact object per line: readable, greppable and fast for 2,500-layer files.
            let lines = layers.map { layer in
                JSON.object(JSONObject([
                    ("name", .string(layer.name)),
                    ("shape", .array(layer.shape.map { .number($0) })),
                    ("dtype", .string(layer.storedType)),
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
