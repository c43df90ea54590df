import Checkpoint
import Foundation
import LTNodes
import Synchronization

/// The views of the analysis nodes, drawn by running the node itself (`HeadlessNodeRun`), so the
/// CLI's picture and report are exactly what `LTWeightNMF`, `LTWeightStats`, `LTModelOverview`,
/// `LTTopInputs` and `LTExpandedWeights` give in a workflow.
enum NodeView: String, CaseIterable {
    case nmfFactors = "nmf-factors", stats, depth, topInputs = "top-inputs", convChain = "conv-chain"
    case attentionQK = "attention-qk", attentionOV = "attention-ov"

    var className: String {
        switch self {
        case .nmfFactors: return "LTWeightNMF"
        case .stats: return "LTWeightStats"
        case .depth: return "LTModelOverview"
        case .topInputs: return "LTTopInputs"
        case .convChain, .attentionQK, .attentionOV: return "LTExpandedWeights"
        }
    }
}

extension RenderCommand {
    /// Runs the node of `nodeView` and writes its pictures to --out (NAME-2.png… for further
    /// pages) and its JSON report to --report.
    func runNodeView(_ nodeView: NodeView) throws {
        let target = layer ?? layers
        var inputs: [String: NodeValue] = [:]
        switch nodeView {
        case .nmfFactors:
            inputs["layer_name"] = .string(try required(target, "a layer (--layer NAME)"))
            inputs["num_filters"] = .int(Int64(numFilters))
            inputs["rank"] = .int(Int64(rank))
        case .stats:
            let count = bins ?? 64
            guard (8...512).contains(count) else { throw CLIError.failure(file: nil, "--bins must be in 8...512, got \(count).") }
            inputs["filter"] = .string(target ?? "")
            inputs["bins"] = .int(Int64(count))
        case .depth:
            inputs["filter"] = .string(target ?? "")
            inputs["metric"] = .string(metric)
        case .topInputs:
            inputs["layer_name"] = .string(try required(target, "a layer (--layer NAME)"))
            inputs["output_channel"] = .int(Int64(outputChannel))
            inputs["top_k"] = .int(Int64(topK))
        case .convChain:
            inputs["layer_name"] = .string(try required(target, "consecutive convolutions (--layers A,B[,C...])"))
            inputs["mode"] = .string("conv_chain")
            inputs["head"] = .int(-1)
        case .attentionQK, .attentionOV:
            inputs["layer_name"] = .string(try required(target, "an attention module (--layer ...attn1)"))
            inputs["mode"] = .string(nodeView == .attentionQK ? "attention_qk" : "attention_ov")
            inputs["head"] = .int(Int64(head))
        }
        let model = try self.model()
        let bar = Mutex(ProgressLine(total: 100))
        let output: HeadlessNodeRun.Output
        do {
            output = try HeadlessNodeRun.run(nodeView.className, model: model, inputs: inputs, progress: { done, total in
                                                 if total > 0 { bar.withLock { $0.update(Int(100 * done / total), "") } }
                                             })
        } catch {
            bar.withLock { $0.message("") }
            throw CLIError.failure(file: file, error.description.hasSuffix(".") ? error.description : error.description + ".")
        }
        bar.withLock { $0.finish() }
        let stem = (target.map { Self.fileStem($0) } ?? "model") + "-\(nodeView.rawValue)"
        let base = out ?? "\(stem).png"
        for (i, png) in output.pngs.enumerated() {
            let path = i == 0 ? base : Self.suffixed(base, String(i + 1))
            do { try Data(png).write(to: URL(fileURLWithPath: path)) } catch {
                throw CLIError.failure(file: path, "Cannot write the image: \(CLIError.reason(error)).")
            }
            let size = Self.pngSize(png)
            print("\(path)  \(size.width)×\(size.height)  \(nodeView.className)")
        }
        if let report {
            do { try Data((output.report + "\n").utf8).write(to: URL(fileURLWithPath: report)) } catch {
                throw CLIError.failure(file: report, "Cannot write the report: \(CLIError.reason(error)).")
            }
            print("\(report)  report of \(nodeView.className)")
        }
    }

    private func required(_ value: String?, _ what: String) throws -> String {
        guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw CLIError.failure(file: nil, "--view \(view) needs \(what).")
        }
        return value
    }

    /// Width and height from a PNG's IHDR chunk.
    static func pngSize(_ png: [UInt8]) -> (width: Int, height: Int) {
        guard png.count >= 24 else { return (0, 0) }
        func be(_ i: Int) -> Int { png[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (be(16), be(20))
    }
}
