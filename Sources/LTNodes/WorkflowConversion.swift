import OrderedJSON

/// UI workflow (the frontend's saved graph: `nodes` + `links`) → API prompt, done on the server
/// with nodes.json's widget order, so a saved workflow file can be POSTed as it is.
public enum WorkflowConversion {
    /// True when `json` looks like a UI workflow (top-level `nodes` array), not an API prompt.
    public static func isUIWorkflow(_ json: JSON) -> Bool {
        json["nodes"]?.arrayValue != nil
    }

    /// Converts a UI workflow to an API prompt (`{"<id>": {"inputs", "class_type", "_meta"}}`).
    public static func apiPrompt(fromUIWorkflow workflow: JSON, catalog: NodeCatalog) throws(WorkflowConversionError) -> JSON {
        throw .notAWorkflow(reason: "not implemented yet")
    }
}
