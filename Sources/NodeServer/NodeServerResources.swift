import Foundation

/// Finds the files SwiftPM copies from `Sources/NodeServer/Resources` (the viewer and the
/// frontend extension) without `Bundle.module`.
///
/// The generated `Bundle.module` accessor stops the process with `fatalError` when the bundle is
/// missing, which happens whenever the executable is copied without its
/// `<Package>_NodeServer.resources` folder. Here a missing bundle is just `nil`: the server
/// then answers 404 for `/viewer` and `[]` for `/extensions`, and says so once at start.
public enum NodeServerResources {
    /// The `Resources/` folder of the installed bundle, looked for next to the running
    /// executable (or test bundle); nil when it is not there.
    public static let installedRoot: String? = locate(in: searchFolders())

    /// The folders a bundle may sit in: the main bundle's, the executable's and `argv[0]`'s.
    static func searchFolders() -> [URL] {
        var folders = [Bundle.main.bundleURL]
        if let exe = Bundle.main.executableURL { folders.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        if let arg0 = CommandLine.arguments.first {
            folders.append(URL(fileURLWithPath: arg0).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        return folders
    }

    /// The first `*_NodeServer.resources` (Linux) or `*_NodeServer.bundle` (macOS) folder in
    /// `folders` that holds the copied `Resources/` directory, as the path of that directory.
    public static func locate(in folders: [URL]) -> String? {
        let fm = FileManager.default
        for folder in folders {
            guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { continue }
            for name in names.sorted() where name.hasSuffix("_NodeServer.resources") || name.hasSuffix("_NodeServer.bundle") {
                let bundle = folder.appendingPathComponent(name)
                // `.copy("Resources")` keeps the folder's name inside the bundle; a macOS bundle
                // nests it one level further, in Contents/Resources.
                for inner in ["Resources", "Contents/Resources/Resources"] {
                    let candidate = bundle.appendingPathComponent(inner).path
                    var isDirectory: ObjCBool = false
                    if fm.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue { return candidate }
                }
            }
        }
        return nil
    }
}
