import Foundation
import Testing
@testable import Checkpoint

/// Folder of the real fixtures copied into the repository (Tests/Fixtures/real).
let realFixtures: String = {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    return here.deletingLastPathComponent().appendingPathComponent("Fixtures/real").path
}()

func fixture(_ name: String) -> String { realFixtures + "/" + name }

/// A fresh temporary folder for files a test writes; removed by the caller with `removeItem`.
func temporaryFolder() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weightlens-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
}

/// Writes bytes to a new temporary file and returns its path.
func writeTemporary(_ bytes: [UInt8], name: String = "file.bin") -> String {
    let path = temporaryFolder() + "/" + name
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

/// Builds a safetensors file in memory: header JSON text is written as given (padding to 8).
func safetensorsBytes(header: String, data: [UInt8]) -> [UInt8] {
    var h = Array(header.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    var out: [UInt8] = []
    var n = UInt64(h.count).littleEndian
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    return out + h + data
}

/// Little-endian bytes of Float32 values.
func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v -> [UInt8] in
        let b = v.bitPattern.littleEndian
        return [UInt8(b & 0xFF), UInt8((b >> 8) & 0xFF), UInt8((b >> 16) & 0xFF), UInt8(b >> 24)]
    }
}

/// Opens a file expecting failure and returns the error.
func openError(_ path: String) -> CheckpointError? {
    do {
        _ = try CheckpointFile.open(path: path)
        return nil
    } catch {
        return error
    }
}
