import ArgumentParser
import Checkpoint
import Foundation
import LTNodes
import ModelCatalog
import Render
import Synchronization

/// `weightlens diff`: what changed from model A to model B, layer by layer (the report of LTCompareModels).
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "What changed from checkpoint A to checkpoint B, layer by layer (the report of LTCompareModels).",
        discussion: """
        For every layer matching --filter in A or B: relative_change = |B-A|/|A|, cosine (similarity
        of A and B), delta_l2 = |B-A| and delta_spectral_norm = the largest singular value of B-A
        (computed only with --metric delta_spectral_norm; null otherwise). Layers present in one
        file only or with different shapes are listed with status only_in_a, only_in_b or
        shape_mismatch. Prints the most changed layers as a table, or with --json the whole report
        (one object per layer, model order). --out also draws the metric along the network's depth
        as a PNG. A progress bar is drawn on stderr when it is a terminal.
        """)

    @Argument(help: "Checkpoint A (the reference).")
    var a: String

    @Argument(help: "Checkpoint B (compared with A).")
    var b: String

    @Option(help: "Layers: substring, glob (*, ?) or block expression (IN04, IN00-M00); default all.")
    var filter: String = ""

    @Option(help: "relative_change | cosine | delta_l2 | delta_spectral_norm")
    var metric: String = "relative_change"

    @Flag(help: "Print the whole report as JSON.")
    var json = false

    @Option(help: "Layers in the table of the most changed (without --json).")
    var top: Int = 20

    @Option(help: "Also write the depth chart of --metric to this PNG file.")
    var out: String?

    func run() throws {
        try CLIError.run(file: nil) {
            let shared = Mutex(ProgressLine(total: 2))
            let text = try Self.output(a: a, b: b, filter: filter, metric: metric, json: json, top: top, out: out) { done, total in
                shared.withLock { line in
                    if line.total != total { line = ProgressLine(total: total) }
                    line.update(done, "layers")
                }
            }
            shared.withLock { $0.finish() }
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }

    /// What `diff` prints (and writes to `out`), for the command and its tests.
    static func output(a: String, b: String, filter: String = "", metric: String = "relative_change", json: Bool, top: Int = 20,
                       out: String? = nil, progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws -> String {
        guard let m = ModelComparisonReport.Metric(rawValue: metric) else {
            throw CLIError.failure(file: nil, "Unknown metric \"\(metric)\"; use one of \(ModelComparisonReport.Metric.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard top >= 0 else { throw CLIError.failure(file: nil, "--top must be 0 or more, got \(top).") }
        let sideA = try open(a), sideB = try open(b)
        let entries = try ModelComparisonReport.compute(sideA, sideB, filter: filter, metric: m, progress: progress)
        if let out {
            let title = (a as NSString).lastPathComponent + " -> " + (b as NSString).lastPathComponent + (filter.isEmpty ? "" : " · \(filter)")
            let image = try LTCompareModelsNode.chart(entries, metric: m, title: title)
            do { try Data(image.png).write(to: URL(fileURLWithPath: out)) } catch {
                throw CLIError.failure(file: out, "Cannot write the image: \(CLIError.reason(error)).")
            }
        }
        return json ? ModelComparisonReport.report(entries).serialized(pretty: true) + "\n" : table(entries, metric: m, top: top)
    }

    static func open(_ path: String) throws -> ModelComparisonReport.Side {
        // CheckpointError's sentences start with the path, so the error line names the file.
        let file = try CheckpointFile.open(path: path)
        return ModelComparisonReport.Side(file: file, catalog: LayerCatalog(checkpoint: file))
    }

    /// The summary and the `top` most changed layers by `metric`, then the layers not compared.
    static func table(_ entries: [ModelComparisonReport.Entry], metric: ModelComparisonReport.Metric, top: Int) -> String {
        let compared = entries.filter { $0.status == .compared }
        let order = ModelComparisonReport.mostChanged(compared, metric: metric)
        let unchanged = compared.filter { ($0.moments?.sumD2 ?? 1) == 0 }.count
        var lines = ["compared \(compared.count) layers (\(unchanged) unchanged); \(entries.count - compared.count) not compared; "
                     + (metric == .cosine ? "least similar" : "most changed") + " by \(metric.rawValue):"]
        func cell(_ v: Double?) -> String {
            guard let v, v.isFinite else { return "-".padded(12) }
            return String(format: "%12.5g", v)
        }
        lines.append("rank".padded(5) + " relative_change".padded(17) + " cosine".padded(13) + " delta_l2".padded(13)
                     + " delta_sigma1".padded(13) + " block".padded(12) + " name")
        for (rank, i) in order.prefix(top).enumerated() {
            let e = compared[i]
            lines.append(String(rank + 1).padded(5) + "    " + cell(e.value(.relativeChange)) + " " + cell(e.value(.cosine)) + " "
                         + cell(e.value(.deltaL2)) + " " + cell(e.value(.deltaSpectralNorm)) + " " + e.block.padded(11) + " " + e.name)
        }
        lines += ModelComparisonReport.unmatchedLines(entries, limit: 50)
        return lines.joined(separator: "\n") + "\n"
    }
}

private extension String {
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
