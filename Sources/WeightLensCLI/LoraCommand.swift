import ArgumentParser
import Checkpoint
import Foundation
import LoRA
import LTNodes
import ModelCatalog

/// `weightlens lora`: the report of `LTLoraInspect` for a LoRA file, optionally against a base checkpoint.
struct LoraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "Where a LoRA acts: per changed layer rank, alpha, scale, |dW|, top singular values (the report of LTLoraInspect).",
        discussion: """
        With --json prints LTLoraInspect's JSON: {format, family, metadata, layers: [{name, rank, alpha,
        scale, delta_l2, delta_max_abs, singular_values, relative_change}], unmatched_keys}; without,
        a summary and a table of the most changed layers. With --base the
        layers are named and ordered as that checkpoint's and relative_change is |dW| / |W|; without,
        names come from the bundled layout the LoRA fits (SD 1.5, SDXL, Flux.1-dev, SD3.5 large).
        --out writes the |dW|-along-the-blocks chart as a PNG.
        """)

    @Argument(help: "LoRA file: .safetensors, or .pt/.ckpt/.bin (restricted unpickler).")
    var file: String

    @Option(help: "Base checkpoint the LoRA is applied to.")
    var base: String?

    @Option(help: "Also write the |dW| chart to this PNG file.")
    var out: String?

    @Flag(help: "Print the whole report as JSON (without: a summary and the most changed layers).")
    var json = false

    @Option(help: "Layers in the table of the most changed (without --json).")
    var top: Int = 20

    func run() throws {
        try CLIError.run(file: file) {
            FileHandle.standardOutput.write(Data((try Self.output(file: file, base: base, out: out, json: json, top: top) + "\n").utf8))
        }
    }

    /// The report as printed, JSON or the table (and the chart written to `out` when given).
    static func output(file: String, base: String?, out: String? = nil, json: Bool = true, top: Int = 20) throws -> String {
        let lora = try LoraFile.open(path: file)
        let catalog = try base.map { LayerCatalog(checkpoint: try CheckpointFile.open(path: $0)) }
        let name = (file as NSString).lastPathComponent
        let inspection = try LoraInspection.run(lora, base: catalog, modelName: base.map { ($0 as NSString).lastPathComponent } ?? "model")
        if let out {
            let images = try LoraReport.pictures(inspection, title: name)
            do { try Data(images[0].png).write(to: URL(fileURLWithPath: out)) } catch {
                throw CLIError.failure(file: out, "Cannot write the image: \(CLIError.reason(error)).")
            }
        }
        return json ? LoraReport.json(inspection).serialized(pretty: true) : table(inspection, top: top)
    }

    /// Format, family, counts, then the `top` layers with the largest |dW|.
    static func table(_ r: LoraInspection, top: Int) -> String {
        let te = r.layers.filter { $0.part.hasPrefix("text_encoder") }.count
        var lines = ["format    \(r.format)", "family    \(r.family)",
                     "layers    \(r.layers.count) changed (\(te) in text encoders), \(r.unmatchedKeys.count) keys unmatched"]
        for key in r.unmatchedKeys.prefix(5) { lines.append("unmatched \(key)") }
        if r.unmatchedKeys.count > 5 { lines.append("unmatched ... and \(r.unmatchedKeys.count - 5) more (--json lists them all)") }
        func g(_ v: Double?) -> String { v.map { String(format: "%.4g", $0) } ?? "-" }
        let most = r.layers.indices.sorted { r.layers[$0].deltaL2 > r.layers[$1].deltaL2 }.prefix(max(0, top))
        lines.append("most changed (dW at strength 1, alpha / rank applied):")
        func row(_ cells: [String]) -> String {
            let widths = [-56, -5, 5, 8, 10, 10, 10, 10]
            return "  " + zip(cells, widths).map { c, w in
                let fill = String(repeating: " ", count: max(0, abs(w) - c.count))
                return w < 0 ? c + fill : fill + c
            }.joined(separator: " ")
        }
        lines.append(row(["layer", "block", "rank", "alpha", "|dW|", "max|dW|", "sigma1", "|dW|/|W|"]))
        for i in most {
            let l = r.layers[i]
            lines.append(row([String(l.name.suffix(56)), l.block ?? "-", l.rank.map(String.init) ?? "-", g(l.alpha.map(Double.init)),
                              g(l.deltaL2), g(Double(l.deltaMaxAbs)), g(l.singularValues.first.map(Double.init)), g(l.relativeChange)]))
        }
        return lines.joined(separator: "\n")
    }
}
