// WeightLensCLI: the `weightlens` command line — serve, and the headless commands.
import ArgumentParser
import Foundation
import Kernels

/// Root command. Each subcommand lives in its own file (`LayersCommand.swift`, …).
public struct WeightLensCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "weightlens",
        abstract: "Look inside diffusion-model checkpoints: layers, statistics, SVD, NMF and PNG previews; serve them to ComfyUI clients.",
        version: "0.1.0, kernels: \(KernelPath.process)",
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
            OverviewCommand.self,
            DiffCommand.self,
            LoraCommand.self,
            TensorsCommand.self,
        ]
    )
    public init() {}

    /// Refuses to start, with one line and exit status 1, when WEIGHTLENS_KERNELS names a kernel
    /// path this machine cannot run (the engine would otherwise quietly run another one).
    public static func checkKernelEnvironment() {
        do throws(KernelPathError) {
            try KernelPath.checkEnvironment()
        } catch {
            FileHandle.standardError.write(Data((CLIError.message(for: error, file: nil) + "\n").utf8))
            Foundation.exit(1)
        }
    }
}
