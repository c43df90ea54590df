/// Everything `weightlens serve` decides before the server starts (besides sockets).
public struct NodeServerConfiguration: Sendable {
    /// ComfyUI's `--base-directory`: holds models/, output/, temp/, input/, user/.
    public var baseDirectory: String
    public var outputDirectory: String?
    public var tempDirectory: String?
    public var inputDirectory: String?
    public var userDirectory: String?
    /// ComfyUI extra_model_paths.yaml files, applied in order.
    public var extraModelPathsConfigs: [String] = []
    /// A ComfyUI frontend build (`--front-end-root`); nil serves the built-in viewer at `/`.
    public var frontEndRoot: String?
    /// Directory of example workflows served at `/workflows/NAME` and offered as templates; nil = none.
    public var workflowsDirectory: String?
    /// Request body limit, advertised as `max_upload_size`.
    public var maxUploadBytes: Int = 100 << 20
    /// The command line, shown by `/system_stats`.
    public var argv: [String] = []
    /// Writes a small deterministic demo checkpoint to the given path; called at start when no
    /// checkpoint exists in any checkpoints folder. Nil disables the demo checkpoint.
    public var demoCheckpointWriter: (@Sendable (String) throws -> Void)?
    /// File name of the demo checkpoint.
    public var demoCheckpointName = "weightlens_demo_sdxl_synthetic.safetensors"
    /// The second demo checkpoint, real learned weights shipped in `Resources/demo/` (MobileNetV2
    /// features.0-6, see its README), copied beside the synthetic one whenever the demo is on.
    public var realDemoCheckpointName = "weightlens_real_mobilenetv2.safetensors"
    /// Log each request, prompt ids and each node's run time to standard error (`--verbose`).
    public var verbose = false
    /// Echo the log (`got prompt`, `Prompt executed in X seconds`, errors with their node) on
    /// standard error, as ComfyUI's terminal shows it. `weightlens serve` turns it on; an app
    /// embedded in tests stays quiet.
    public var consoleLog = false
    /// The shipped `Resources/` folder (viewer, extensions); nil when the resource bundle is not
    /// installed, and then `/viewer` is 404 and `/extensions` is `[]`.
    public var resourcesDirectory: String? = NodeServerResources.installedRoot

    public init(baseDirectory: String) { self.baseDirectory = baseDirectory }
}
