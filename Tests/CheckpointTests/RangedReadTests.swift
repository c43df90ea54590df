import Foundation
import Testing
@testable import Checkpoint

/// `readElements` (the streaming read of model comparison) against `loadTensor`, on a torch file
/// with transposed (strided) views and on safetensors, for ranges that cut rows anywhere.
@Suite struct RangedReadTests {
    static func tool(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tools/" + name).path
    }

    @Test func anyRange_equalsTheSameSliceOfTheWholeTensor() throws {
        for path in [Self.tool("compare_b.pt"), Self.tool("compare_a.safetensors")] {
            let file = try CheckpointFile.open(path: path)
            for entry in file.entries {
                let whole = try file.loadTensor(entry.name).values
                let n = whole.count
                for (start, count) in [(0, n), (0, min(n, 5)), (n / 3, n - n / 3), (min(n, 7), max(0, min(37, n - 7))), (n, 0)] {
                    var out = [Float](repeating: .nan, count: count)
                    try out.withUnsafeMutableBufferPointer { p throws(CheckpointError) in
                        if count > 0 { try file.readElements(entry.name, start: start, count: count, into: p.baseAddress!) }
                    }
                    #expect(out == Array(whole[start..<(start + count)]), "\(entry.name) \(start)..+\(count)")
                }
                file.willRead(entry.name)
                file.releasePages(entry.name)
                #expect(try file.loadTensor(entry.name).values == whole, "pages read again after release")
            }
        }
    }

    /// GGUF block-quantized tensors cannot be cut at any element: they say so, and a range is
    /// still the same slice of the dequantized tensor.
    @Test func ggufQuantizedTensors_readTheSameSlices() throws {
        let file = try CheckpointFile.open(path: Self.tool("gguf/types.gguf"))
        var quantized = 0
        for entry in file.entries {
            guard let whole = try? file.loadTensor(entry.name).values, whole.count > 2 else { continue }
            if !file.canReadElements(entry.name) { quantized += 1 }
            let start = whole.count / 3, count = whole.count - whole.count / 3
            var out = [Float](repeating: .nan, count: count)
            try out.withUnsafeMutableBufferPointer { p throws(CheckpointError) in
                try file.readElements(entry.name, start: start, count: count, into: p.baseAddress!)
            }
            #expect(out.elementsEqual(whole[start...]) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(entry.name)")
            file.releasePages(entry.name)
        }
        #expect(quantized > 0)
    }

    @Test func outOfRange_andUnknownNames_areErrors() throws {
        let file = try CheckpointFile.open(path: Self.tool("compare_a.safetensors"))
        let entry = try #require(file.entries.first)
        var x: Float = 0
        #expect(throws: CheckpointError.self) { try file.readElements(entry.name, start: entry.parameterCount, count: 1, into: &x) }
        #expect(throws: CheckpointError.self) { try file.readElements("nope", start: 0, count: 1, into: &x) }
    }
}
