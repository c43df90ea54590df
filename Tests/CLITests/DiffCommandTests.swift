import Foundation
import OrderedJSON
import Testing
@testable import WeightLensCLI

/// `weightlens diff`, in-process, on the comparison fixtures written by safetensors and torch.
@Suite struct DiffCommandTests {
    static func tool(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tools/" + name).path
    }

    @Test func json_isTheNodesReport_andMatchesNumpy() throws {
        let text = try DiffCommand.output(a: Self.tool("compare_a.safetensors"), b: Self.tool("compare_b.pt"), metric: "delta_l2", json: true)
        let report = try #require(try JSON.parse(Array(text.utf8)).arrayValue)
        let expected = try #require(try JSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: Self.tool("compare.expected.json"))))).objectValue)
        #expect(report.count == expected.count)
        for entry in report {
            let name = try #require(entry["name"]?.stringValue)
            let want = try #require(expected[name])
            #expect(entry["status"] == want["status"])
            if let l2 = want["delta_l2"]?.doubleValue {
                #expect(abs((entry["delta_l2"]?.doubleValue ?? -1) - l2) <= 1e-6 * max(1, l2))
            }
            #expect(entry["delta_spectral_norm"] == .null)
        }
    }

    @Test func table_namesTheMostChanged_andTheLayersNotCompared_andWritesTheChart() throws {
        let png = NSTemporaryDirectory() + "diff-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: png) }
        let text = try DiffCommand.output(a: Self.tool("compare_a.safetensors"), b: Self.tool("compare_b.pt"), json: false, top: 3, out: png)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("compared 10 layers (3 unchanged); 3 not compared"))
        #expect(lines[2].hasPrefix("1 ") && lines[2].hasSuffix("attn1.to_k"))
        #expect(lines.contains("only in A: only_in_a.linear [8, 8]"))
        #expect(lines.contains("different shapes: reshaped.linear A [16, 24], B [24, 16]"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }

    @Test func badMetric_andMissingFile_areOneLineErrors() {
        #expect(throws: (any Error).self) { try DiffCommand.output(a: Self.tool("compare_a.safetensors"), b: Self.tool("compare_b.pt"), metric: "nope", json: true) }
        #expect(throws: (any Error).self) { try DiffCommand.output(a: Self.tool("compare_a.safetensors"), b: "/nonexistent/b.safetensors", json: true) }
    }
}
