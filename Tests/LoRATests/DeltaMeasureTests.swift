import Foundation
import Testing
@testable import Analysis
@testable import Checkpoint
@testable import LoRA
@testable import ModelCatalog

/// The LoRA report's per-layer numbers from the factors (`DeltaMeasure.factored`) against ΔW made
/// whole (`DeltaMeasure.materialised`) and against ΔW as the real tools merged it.
@Suite struct DeltaMeasureTests {
    func expectClose(_ a: DeltaMeasure, _ b: DeltaMeasure, _ label: String) {
        #expect(abs(a.l2 - b.l2) <= 1e-5 * max(b.l2, 1e-12), "\(label): |dW| \(a.l2) vs \(b.l2)")
        #expect(abs(a.maxAbs - b.maxAbs) <= 1e-6 * max(b.maxAbs, 1e-12) + 1e-9, "\(label): max \(a.maxAbs) vs \(b.maxAbs)")
        #expect(a.singularValues.count == b.singularValues.count, "\(label)")
        let top = b.singularValues.first ?? 0
        for (x, y) in zip(a.singularValues, b.singularValues) {
            // Singular values past the rank are round-off on both sides: compare against sigma_1.
            #expect(abs(x - y) <= 1e-4 * max(y, 1e-3 * top), "\(label): sigma \(a.singularValues) vs \(b.singularValues)")
        }
    }

    /// Every layer of the real-tool LoRAs (kohya LoRA/LoCon incl. 3x3 conv, diffusers/PEFT on a
    /// U-Net and on Flux): both paths agree, and agree with the tool's own merged ΔW.
    @Test(arguments: ["lycoris_lora", "peft_unet", "peft_flux"])
    func factorsMatchTheWholeDeltaAndTheTool(_ name: String) throws {
        let base = name == "peft_flux" ? "diffusers_flux/transformer" : "diffusers_unet/unet"
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: toolFixture(base)))
        let lora = try LoraFile.open(path: toolFixture("lora/\(name).safetensors"))
        let expected = try CheckpointFile.open(path: toolFixture("lora/\(name).expected.safetensors"))
        let binding = try LoraBinding.bind(lora, identity: catalog.identity, layers: catalog.allLayers, modelName: base)
        let report = try LoraInspection.run(lora, base: catalog)
        var factoredCount = 0
        for layer in Set(binding.matches.map(\.target.layer.name)).sorted() {
            let matches = binding.matches.filter { $0.target.layer.name == layer }
            let shape = matches[0].target.layer.shape
            let rows = shape[0], cols = shape.dropFirst().reduce(1, *)
            let parts = matches.map { (module: $0.module, rowOffset: $0.target.rowOffset) }
            let whole = try DeltaMeasure.materialised(parts, rows: rows, cols: cols, top: min(4, rows, cols), in: lora)
            if let f = try DeltaMeasure.factored(parts, rows: rows, cols: cols, top: min(4, rows, cols), in: lora) {
                factoredCount += 1
                expectClose(f, whole, "\(name) \(layer)")
            }
            // The report against the tool's merge: norm, largest entry, singular values (numpy-free: our SVD of the tool's ΔW).
            let tool = try expected.loadTensor(layer).values
            let moments = weightMoments(tool, rows: 1)
            let entry = try #require(report.layers.first { $0.name == layer })
            #expect(abs(entry.deltaL2 - moments.l2Norm) <= 1e-4 * moments.l2Norm, "\(layer)")
            #expect(abs(entry.deltaMaxAbs - moments.rowMaxAbs[0]) <= 1e-6 + 1e-5 * moments.rowMaxAbs[0], "\(layer)")
            let sv = try allSingularValues(Matrix(rows: rows, cols: cols, values: tool))
            for i in 0..<min(2, entry.singularValues.count) {
                #expect(abs(entry.singularValues[i] - sv[i]) <= 1e-3 * sv[0], "\(layer) sigma\(i + 1): \(entry.singularValues) vs \(sv.prefix(4))")
            }
        }
        #expect(factoredCount > 0)
    }

    /// Factors read into spare arrays shared by every layer (`FactorBuffers`, as the report reads
    /// them: arrays handed from layer to layer, shrunk and grown) give exactly what fresh loads
    /// give, in two passes over the layers in opposite orders.
    @Test(arguments: ["lycoris_lora", "peft_unet", "peft_flux"])
    func spareArrays_giveTheFreshResult(_ name: String) throws {
        let base = name == "peft_flux" ? "diffusers_flux/transformer" : "diffusers_unet/unet"
        let catalog = LayerCatalog(checkpoint: try CheckpointFile.open(path: toolFixture(base)))
        let lora = try LoraFile.open(path: toolFixture("lora/\(name).safetensors"))
        let binding = try LoraBinding.bind(lora, identity: catalog.identity, layers: catalog.allLayers, modelName: base)
        let layers = Set(binding.matches.map(\.target.layer.name)).sorted()
        let buffers = FactorBuffers()
        var sawSpares = false
        for order in [layers, layers.reversed()] {
            for layer in order {
                let matches = binding.matches.filter { $0.target.layer.name == layer }
                let shape = matches[0].target.layer.shape
                let rows = shape[0], cols = shape.dropFirst().reduce(1, *)
                let parts = matches.map { (module: $0.module, rowOffset: $0.target.rowOffset) }
                let fresh = try DeltaMeasure.of(parts, rows: rows, cols: cols, in: lora)
                let pooled = try DeltaMeasure.of(parts, rows: rows, cols: cols, in: lora, buffers: buffers)
                #expect(pooled.l2 == fresh.l2 && pooled.maxAbs == fresh.maxAbs && pooled.singularValues == fresh.singularValues, "\(name) \(layer)")
                sawSpares = sawSpares || buffers.spareCount > 0
            }
        }
        // The factored path ran (its arrays came back to the pool).
        #expect(sawSpares && !layers.isEmpty)
    }

    /// diffusers q, k, v LoRAs on the fused qkv of a BFL Flux layout: three modules on three bands
    /// of one layer, measured band by band from the factors.
    @Test func bandsOfAFusedLayer() throws {
        let r = 4, d = 3072
        var tensors: [(String, [Int], [Float])] = []
        for (i, p) in ["to_q", "to_k", "to_v"].enumerated() {
            let prefix = "transformer.transformer_blocks.0.attn.\(p)"
            tensors.append((prefix + ".lora_A.weight", [r, d], ramp(r * d, Float(i + 1))))
            tensors.append((prefix + ".lora_B.weight", [d, r], ramp(d * r, 0.5 + Float(i))))
        }
        let lora = try LoraFile.open(path: writeSafetensors(tensors))
        let report = try LoraInspection.run(lora, base: nil)
        #expect(report.family != "unknown")
        let fit = try #require(LoraFamilies.bestFit(lora))
        let binding = try LoraBinding.bind(lora, identity: fit.identity, layers: fit.layers, modelName: "flux")
        #expect(binding.matches.count == 3 && Set(binding.matches.map(\.target.rowOffset)) == [0, d, 2 * d])
        let parts = binding.matches.map { (module: $0.module, rowOffset: $0.target.rowOffset) }
        let f = try #require(try DeltaMeasure.factored(parts, rows: 3 * d, cols: d, top: 4, in: lora))
        let whole = try DeltaMeasure.materialised(parts, rows: 3 * d, cols: d, top: 4, in: lora)
        expectClose(f, whole, "qkv")
        #expect(report.layers.count == 1 && report.layers[0].deltaL2 == f.l2)
    }
}
