// WeightLensCLI: the `weightlens` command line — serve, and the headless commands.
import ArgumentParser

/// Root command. Each subcommand lives in its own file (`LayersCommand.swift`, …).
public struct WeightLensCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "weightlens",
        abstract: "Look inside diffusion-model checkpoints: layers, statistics, SVD, NMF and PNG previews; serve them to ComfyUI clients.",
        version: "0.1.0",
        subcommands: [
            // Keep one entry per line so parallel additions merge cleanly.
            LayersCommand.self,
            MakeCheckpointCommand.self,
            ServeStaticCommand.self,
            ServeCommand.self,
            RenderCommand.self,
            InspectCommand.self,
            NMFCommand.self,
            ExpandCommand.self,
            StatsCommand.self,
        ]
    )
    public init() {}
}
