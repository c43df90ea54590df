import OrderedJSON

/// POST /prompt validation, reproducing ComfyUI's error types and body shapes.
public enum PromptValidation {
    /// Validates an API-format prompt. On failure returns ComfyUI's 400 body `{"error": {...}, "node_errors": {...}}`.
    ///
    /// - Parameter targets: `partial_execution_targets` (only these output nodes run), or nil for all.
    public static func validate(prompt: JSON, catalog: NodeCatalog, models: any ModelLocator,
                                targets: [String]? = nil) -> Result<ValidatedPrompt, PromptValidationFailure> {
        .failure(PromptValidationFailure(body: ["error": ["type": "invalid_prompt", "message": "not implemented yet",
                                                         "details": "", "extra_info": [:]], "node_errors": [:]]))
    }
}
