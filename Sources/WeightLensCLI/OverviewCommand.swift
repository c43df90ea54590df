import ArgumentParser
import Checkpoint
import Foundation
import LTNodes
import ModelCatalog
import Render
import Synchronization

/// `weightlens overview`: the report of `LTModelOverview` for every matching 2-D/4-D weight.
struct OverviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overview",
        abstract: "Spectral health and norms of every matching 2-D/4-D weight as JSON (the report of LTModelOverview).",
        discussion: """
        Prints a JSON array with one object per layer: name, block, shape, l2_norm, std,
        spectral_norm, stable_rank, alpha, alpha_weighted and dead_fraction (docs/ENGINE.md defines
        them). With --metric l2_norm, std or dead_fraction the spectral fields are null (one fast
        pass). --out also draws the chosen metric along the network's depth as a PNG. A progress
        bar is drawn on stderr when it is a terminal.
        """)

    @Argument(help: "Checkpoint: .safetensors/.sft, *.safetensors.index.json, .pt/.pth/.ckpt/.bin, .gguf.")
    var file: String

    @Option(help: "Layers: substring, glob (*, ?) or block expression (IN04, IN00-M00); default all.")
    var filter: String = ""

    @Option(help: "alpha | alpha_weighted | stable_rank | spectral_norm | l2_norm | std | dead_fraction")
    var metric: String = "alpha"

    @Option(help: "Also write the depth chart of --metric to this PNG file.")
    var out: String?

    func run() throws {
        try CLIError.run(file: file) {
            guard let m = ModelOverviewReport.Metric(rawValue: metric) else {
                throw CLIError.failure(file: nil, "Unknown metric \"\(metric)\"; use one of \(ModelOverviewReport.Metric.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            let checkpoint = try CheckpointFile.open(path: file)
            let bar = ProgressLine(total: 2)
            let shared = Mutex(bar)
            let entries = try ModelOverviewReport.compute(checkpoint, catalog: LayerCatalog(checkpoint: checkpoint), filter: filter, metric: m,
                                                          progress: { done, total in
                                                              shared.withLock { line in
                                                                  if line.total != total { line = ProgressLine(total: total) }
                                                                  line.update(done, "layers")
                                                              }
                                                          })
            shared.withLock { $0.finish() }
            if let out {
                let points = entries.map { DepthPoint(name: $0.layer.name, block: $0.block, value: $0.value(m)) }
                let image = try LayerRenderer.renderDepthChart(points, metric: m.rawValue, title: (file as NSString).lastPathComponent
                                                               + (filter.isEmpty ? "" : " · \(filter)"))
                do { try Data(image.png).write(to: URL(fileURLWithPath: out)) } catch {
                    throw CLIError.failure(file: out, "Cannot write the image: \(CLIError.reason(error)).")
                }
            }
            FileHandle.standardOutput.write(Data((ModelOverviewReport.report(entries).serialized(pretty: true) + "\n").utf8))
        }
    }
}
