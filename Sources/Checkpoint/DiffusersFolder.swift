import Foundation

/// A diffusers model folder: `save_pretrained` writes `diffusion_pytorch_model.safetensors` (or shards
/// with `diffusion_pytorch_model.safetensors.index.json`) into the model's folder, and a pipeline
/// folder holds the denoiser in `transformer/` (DiTs) or `unet/` (U-Nets).
enum DiffusersFolder {
    static let weightNames = ["diffusion_pytorch_model.safetensors.index.json", "diffusion_pytorch_model.safetensors",
                              "diffusion_pytorch_model.fp16.safetensors.index.json", "diffusion_pytorch_model.fp16.safetensors"]

    /// The weights file to open for `path` when it is a directory: the folder's own
    /// `diffusion_pytorch_model*` file, else the one in its `transformer/` or `unet/` subfolder.
    /// Nil when `path` is not a directory or holds none of them.
    static func weightsFile(in path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        for folder in [path, path + "/transformer", path + "/unet"] {
            for name in weightNames {
                let candidate = folder + "/" + name
                var sub: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate, isDirectory: &sub), !sub.boolValue { return candidate }
            }
        }
        return nil
    }
}
