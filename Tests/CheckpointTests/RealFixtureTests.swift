import Kernels
import Testing
import TensorCore
@testable import Checkpoint

/// Real trained weights (see Tests/Fixtures/real/README.md): every torch file must give exactly
/// the tensors of its safetensors twin, which an independent converter wrote in C order.
@Suite struct RealFixtureTests {
    static let twins: [(torch: String, twin: String, format: CheckpointFormat, count: Int)] = [
        ("facenet_pnet.pt", "facenet_pnet.safetensors", .torchLegacy, 13),
        ("facenet_rnet.pt", "facenet_rnet.safetensors", .torchLegacy, 16),
        ("facenet_onet.pt", "facenet_onet.safetensors", .torchLegacy, 21),
        ("lpips_v0.1_alex.pth", "lpips_v0.1_alex.safetensors", .torchLegacy, 5),
        ("lpips_v0.1_vgg.pth", "lpips_v0.1_vgg.safetensors", .torchLegacy, 5),
        ("lpips_v0.1_squeeze.pth", "lpips_v0.1_squeeze.safetensors", .torchLegacy, 7),
        ("lpips_v0.0_alex.pth", "lpips_v0.0_alex.safetensors", .torchLegacy, 5),
        ("pesto_mir1k.ckpt", "pesto_mir1k.safetensors", .torchZip, 16),
        ("pesto_mir1k_g7.ckpt", "pesto_mir1k_g7.safetensors", .torchZip, 22),
    ]

    @Test(arguments: twins.indices)
    func torchFile_equalsItsSafetensorsTwin(index: Int) throws {
        let t = Self.twins[index]
        let torch = try CheckpointFile.open(path: fixture(t.torch))
        let twin = try CheckpointFile.open(path: fixture(t.twin))
        #expect(torch.format == t.format)
        #expect(twin.format == .safetensors)
        #expect(torch.entries.count == t.count)
        // The twin's data order is the source's key order.
        #expect(torch.entries.map(\.name) == twin.entries.map(\.name))
        for entry in torch.entries {
            let other = try #require(twin.entry(named: entry.name))
            // The pesto twins store torch's rank-0 `shift` as [1] (one element either way).
            let sameShape = entry.shape == other.shape || (entry.shape == [] && other.shape == [1])
            #expect(sameShape, "\(entry.name): \(entry.shape) vs \(other.shape)")
            #expect(entry.dtype == other.dtype, "\(entry.name)")
            let a = try torch.loadTensor(entry.name)
            let b = try twin.loadTensor(entry.name)
            #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern), "\(t.torch): \(entry.name) differs")
        }
    }

    @Test func onetFirstConv_isStridedInTheTorchFile() throws {
        let onet = try CheckpointFile.open(path: fixture("facenet_onet.pt"))
        let index = try #require(onet.indexByName["conv1.weight"])
        #expect(onet.sources[index].strides == [1, 32, 96, 288])
        #expect(onet.entries[index].shape == [32, 3, 3, 3])
    }

    /// On every kernel path this machine runs (the f16/bf16 conversions are per-path kernels).
    @Test(arguments: [("facenet_onet_f16.safetensors", DType.f16, Float(1.0 / 1024)),
                      ("facenet_onet_bf16.safetensors", DType.bf16, Float(1.0 / 128))], KernelPath.supported)
    func reducedPrecisionTwin_matchesFloat32WithinRounding(file: (String, DType, Float), path: KernelPath) throws {
        try path.run { try Self.checkTwin(name: file.0, dtype: file.1, relative: file.2) }
    }

    static func checkTwin(name: String, dtype: DType, relative: Float) throws {
        let low = try CheckpointFile.open(path: fixture(name))
        let full = try CheckpointFile.open(path: fixture("facenet_onet.safetensors"))
        #expect(low.entries.map(\.name) == full.entries.map(\.name))
        #expect(low.metadata.contains { $0.key == "precision" })
        for entry in low.entries {
            #expect(entry.dtype == dtype)
            let a = try low.loadTensor(entry.name).values
            let b = try full.loadTensor(entry.name).values
            #expect(a.count == b.count)
            for (x, y) in zip(a, b) {
                // Half has 11 significant bits (relative step 2^-11 when rounding); bf16 has 8.
                let tolerance = max(abs(y) * relative, dtype == .f16 ? 6.0e-8 : 0)
                if abs(x - y) > tolerance {
                    Issue.record("\(name) \(entry.name): \(x) vs \(y)")
                    return
                }
            }
        }
    }

    @Test func lightningCheckpoint_usesStateDictAndKeepsRankZeroTensor() throws {
        let ckpt = try CheckpointFile.open(path: fixture("pesto_mir1k.ckpt"))
        let shift = try #require(ckpt.entry(named: "shift"))
        #expect(shift.shape == [])
        #expect(shift.parameterCount == 1)
        #expect(try ckpt.loadTensor("shift").values.count == 1)
        #expect(ckpt.entry(named: "encoder.prefilt_layers.0.weight")?.shape == [40, 40, 15])
        #expect(!ckpt.entries.contains { $0.name.hasPrefix("state_dict.") })
    }

    @Test func safetensorsMetadata_isKeptInOrder() throws {
        let f = try CheckpointFile.open(path: fixture("facenet_pnet.safetensors"))
        #expect(f.metadata.first?.key == "format")
        #expect(f.metadata.first?.value == "pt")
        #expect(f.metadata.contains { $0.key == "converted_from" })
    }
}
