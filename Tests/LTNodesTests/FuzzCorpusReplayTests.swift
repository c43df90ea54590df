import Foundation
import Testing
import LTNodes
import OrderedJSON

/// Every stored input of the UI-workflow and prompt-validation fuzz targets (fuzz/corpus and
/// fuzz/regressions) through the real converter and validator: a prompt, a typed conversion
/// error, or ComfyUI's failure body; never a crash.
@Suite struct FuzzCorpusReplayTests {
    struct Models: ModelLocator {
        func checkpointNames() -> [String] { ["sdxl_synthetic_fp16.safetensors", "sub/model.ckpt"] }
        func checkpointPath(named: String) -> String? { nil }
    }

    static func inputs(_ target: String) -> [(String, JSON)] {
        var out: [(String, JSON)] = []
        for kind in ["fuzz/corpus/", "fuzz/regressions/"] {
            let dir = Repo.root.appendingPathComponent(kind + target)
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() {
                guard let d = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path),
                      let json = try? JSON.parse(Array(d), limits: JSONLimits(maxDepth: 64, maxBytes: 1 << 20)) else { continue }
                out.append((name, json))
            }
        }
        return out
    }

    @Test func workflowInputs_convertOrFailTyped() throws {
        let catalog = try catalog()
        let all = Self.inputs("WorkflowConversionFuzz")
        #expect(all.count >= 4)
        var converted = 0
        for (name, json) in all {
            do throws(WorkflowConversionError) {
                let prompt = try WorkflowConversion.apiPrompt(fromUIWorkflow: json, catalog: catalog)
                converted += 1
                _ = PromptValidation.validate(prompt: prompt, catalog: catalog, models: Models())
            } catch {
                #expect(!name.hasPrefix("bad-") || !error.description.isEmpty)
            }
        }
        #expect(converted >= 2)
    }

    @Test func promptInputs_validateOrFailWithComfyShape() throws {
        let catalog = try catalog()
        let all = Self.inputs("PromptValidationFuzz")
        #expect(all.count >= 4)
        for (name, json) in all {
            let prompt = json["prompt"] ?? json
            let targets = json["partial_execution_targets"]?.arrayValue?.compactMap(\.stringValue)
            switch PromptValidation.validate(prompt: prompt, catalog: catalog, models: Models(), targets: targets) {
            case .success(let v):
                #expect(!name.hasPrefix("bad-"), "\(name) was accepted")
                #expect(!v.outputNodeIDs.isEmpty)
            case .failure(let f):
                #expect(f.body["error"]?["type"]?.stringValue != nil)
            }
        }
    }
}
