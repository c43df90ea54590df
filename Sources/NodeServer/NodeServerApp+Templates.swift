import Foundation
import HTTPWire
import OrderedJSON

/// The frontend's templates browser reads its catalogue from `/templates/index.json` (ComfyUI
/// serves it from the separate templates package): categories of templates with a title, a
/// one-line description and a thumbnail at `/templates/NAME-1.EXT`, opened from
/// `/templates/NAME.json`. When the frontend build has no catalogue of its own, WeightLens serves
/// its shipped workflows there, in `templates.json`'s order (the demo first), each with the
/// thumbnail `workflows/NAME.png` (drawn by scripts/make-pictures) — and then leaves them out of
/// `/workflow_templates`, whose cards carry neither title nor description, so no card appears twice.
extension NodeServerApp {
    /// Whether `/templates/index.json` is ours: a frontend is served and it has no catalogue.
    var servesTemplatesIndex: Bool {
        guard let root = configuration.frontEndRoot, !exampleWorkflowNames().isEmpty else { return false }
        return !FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent("templates/index.json"))
    }

    /// The catalogue: one category, "WeightLens", holding every shipped UI workflow.
    func templatesIndex() -> JSON {
        let described = Dictionary(templateDescriptions().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let templates = exampleWorkflowNames().map { file -> JSON in
            let name = String(file.dropLast(5))
            let info = described[name]
            return .object(JSONObject([
                ("name", .string(name)), ("title", .string(info?.title ?? name)),
                ("description", .string(info?.description ?? "")),
                ("mediaType", "image"), ("mediaSubtype", "png"), ("tags", .array(["WeightLens"])),
            ]))
        }
        return .array([.object(JSONObject([
            ("moduleName", "default"), ("title", "WeightLens"), ("type", "image"), ("category", "WeightLens"),
            ("templates", .array(templates)),
        ]))])
    }

    /// `/templates/index.json`, `/templates/NAME.json` and `/templates/NAME-1.png` for the shipped
    /// workflows when `servesTemplatesIndex`; nil for anything else (the frontend's own files).
    func templatesFile(_ file: String) -> HTTPResponse? {
        guard servesTemplatesIndex else { return nil }
        if file == "index.json" { return Reply.json(templatesIndex()) }
        let names = Set(exampleWorkflowNames().map { String($0.dropLast(5)) })
        if file.hasSuffix(".json"), names.contains(String(file.dropLast(5))) { return workflowFile(file) }
        if file.hasSuffix("-1.png"), names.contains(String(file.dropLast(6))) { return workflowFile(String(file.dropLast(6)) + ".png") }
        return nil
    }
}
