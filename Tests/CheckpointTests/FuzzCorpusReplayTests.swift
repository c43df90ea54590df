import Foundation
import Testing
@testable import Checkpoint
import ModelCatalog

/// Every stored fuzz input of the checkpoint targets (fuzz/corpus/<Target>/ and
/// fuzz/regressions/<Target>/) replayed through the real readers, opened from a file as a user's
/// download would be: each one opens and loads all its tensors, or fails with a `CheckpointError`.
/// Seeds named `bad-*` are hostile cases that must be refused. A crash here is a reader bug.
@Suite struct FuzzCorpusReplayTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fuzz")

    /// (file name, bytes) of every stored input of `target`.
    static func inputs(_ target: String) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        for kind in ["corpus", "regressions"] {
            let dir = fuzzFolder.appendingPathComponent(kind).appendingPathComponent(target)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for n in names.sorted() {
                if let d = FileManager.default.contents(atPath: dir.appendingPathComponent(n).path) {
                    out.append(("\(kind)/\(n)", Array(d)))
                }
            }
        }
        return out
    }

    /// Opens `path` and loads every tensor; the error when it fails.
    static func openAndLoad(_ path: String) -> CheckpointError? {
        do {
            let file = try CheckpointFile.open(path: path)
            for e in file.entries {
                let t = try file.loadTensor(e.name)
                #expect(t.values.count == e.parameterCount, "\(path) \(e.name)")
            }
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [("SafeTensorsFuzz", "safetensors"), ("TorchZipFuzz", "pt"), ("TorchLegacyFuzz", "pth"), ("GGUFFuzz", "gguf")])
    func containerInputs_openOrFailTyped(target: String, ext: String) throws {
        let all = Self.inputs(target)
        #expect(all.count >= 5, "no stored inputs for \(target)")
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var opened = 0
        for (name, bytes) in all {
            let path = dir + "/input." + ext
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            let error = Self.openAndLoad(path)
            if error == nil { opened += 1 }
            if name.split(separator: "/").last!.hasPrefix("bad-") { #expect(error != nil, "\(target) \(name) was accepted") }
            if let error { #expect(error.description.hasPrefix(path), "\(name): \(error)") }
        }
        #expect(opened >= 2, "\(target): fewer than two stored inputs open")
    }

    @Test func shardedIndexInputs_openOrFailTyped() throws {
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The two shards the fuzz target puts beside the index.
        let a = safetensorsBytes(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}}"#,
                                 data: [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0x3C])
        let b = safetensorsBytes(header: #"{"__metadata__":{"format":"pt"},"z":{"dtype":"BF16","shape":[2,1],"data_offsets":[0,4]}}"#,
                                 data: [0x80, 0x3F, 0x00, 0xC0])
        _ = FileManager.default.createFile(atPath: dir + "/a.safetensors", contents: Data(a))
        _ = FileManager.default.createFile(atPath: dir + "/b.safetensors", contents: Data(b))
        let all = Self.inputs("ShardedIndexFuzz")
        #expect(all.count >= 5)
        var opened = 0
        for (name, bytes) in all {
            let path = dir + "/model.safetensors.index.json"
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            let error = Self.openAndLoad(path)
            if error == nil { opened += 1 }
            if name.split(separator: "/").last!.hasPrefix("bad-") { #expect(error != nil, "\(name) was accepted") }
        }
        #expect(opened >= 2)
    }

    @Test func pickleInputs_runOrFailTyped() throws {
        let all = Self.inputs("PickleFuzz")
        #expect(all.count >= 5)
        for (name, bytes) in all {
            var machine = PickleMachine(path: "replay.pkl")
            let result: Result<PickleValue, CheckpointError> = bytes.withUnsafeBytes { buffer in
                do throws(CheckpointError) {
                    let (value, end) = try machine.run(buffer, from: 0)
                    #expect(end <= buffer.count)
                    return .success(value)
                } catch { return .failure(error) }
            }
            if case .success(let value) = result {
                _ = try? TorchStateDict.namedTensors(value, machine: machine, path: "replay.pkl")
            }
            if name.split(separator: "/").last!.hasPrefix("bad-") {
                if case .success = result { Issue.record("\(name) was accepted") }
            }
        }
    }

    @Test func blockGrammarInputs_resolveOrFailTyped() {
        let all = Self.inputs("BlockGrammarFuzz")
        #expect(all.count >= 5)
        for (_, bytes) in all {
            guard let first = bytes.first else { continue }
            let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
            for family in ModelFamily.allCases {
                if let set = try? BlockGrammar.resolve(text, family: family), let scheme = family.defaultBlocks {
                    #expect(set.isSubset(of: Set(scheme.labels)))
                }
            }
            _ = try? BlockGrammar.resolve(text, scheme: .unet(count: Int(first >> 2) % 40), modelName: "replay")
        }
    }
}
