import ArgumentParser
import Checkpoint
import Foundation
import OrderedJSON
import TensorCore

/// `weightlens tensors`: every tensor of a checkpoint as the readers see it, with a checksum of its
/// values, so another reader (Python `safetensors`, `gguf`) can be compared key by key.
struct TensorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensors",
        abstract: "List every tensor (key, dtype, shape) with a checksum of its values.",
        discussion: """
        Keys are listed in file order. --json prints an array of {key, dtype, shape, count,
        fnv1a64}: fnv1a64 is the 64-bit FNV-1a hash (hex) of the values converted to float32, each
        as 4 little-endian bytes, every NaN written as 0x7FC00000. The differential check
        (bench/differential/run.sh) compares it with the reference libraries. See docs/CLI.md.
        """)

    @Argument(help: "Checkpoint: .safetensors/.sft, *.safetensors.index.json, .pt/.pth/.ckpt/.bin.")
    var file: String

    @Flag(help: "Print a JSON array instead of one line per tensor.")
    var json = false

    func run() throws {
        try CLIError.run(file: file) {
            FileHandle.standardOutput.write(Data(try Self.output(file: file, json: json).utf8))
        }
    }

    /// The text the command prints (separate so tests can call it in-process).
    static func output(file: String, json: Bool) throws -> String {
        let checkpoint = try CheckpointFile.open(path: file)
        var rows: [JSON] = []
        var lines: [String] = []
        for entry in checkpoint.entries {
            let values = try checkpoint.loadTensor(entry.name).values
            let hash = hex(fnv1a64(values))
            if json {
                rows.append(.object(JSONObject([
                    ("key", .string(entry.name)),
                    ("dtype", .string(entry.dtype.rawValue)),
                    ("shape", .array(entry.shape.map { .number($0) })),
                    ("count", .number(values.count)),
                    ("fnv1a64", .string(hash)),
                ])))
            } else {
                lines.append("\(entry.name)\t\(entry.dtype.rawValue)\t\(entry.shape)\t\(hash)")
            }
        }
        return json ? JSON.array(rows).serialized() + "\n" : lines.map { $0 + "\n" }.joined()
    }

    /// FNV-1a (64-bit) over the float32 little-endian bytes of `values`, NaNs canonical.
    static func fnv1a64(_ values: [Float]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in values {
            var bits = v.isNaN ? 0x7FC0_0000 : v.bitPattern
            for _ in 0..<4 {
                h = (h ^ UInt64(bits & 0xFF)) &* 0x0000_0100_0000_01B3
                bits >>= 8
            }
        }
        return h
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
