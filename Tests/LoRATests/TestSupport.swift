import Foundation
@testable import Checkpoint

/// A file of Tests/Fixtures/tools (written by the real tools; see make_lora_fixtures.py).
func toolFixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tools/" + name).path
}

/// A fresh temporary folder for files a test writes.
func temporaryFolder() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weightlens-lora-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
}

/// A safetensors file of Float32 tensors (name, shape, values) written to a temporary folder.
func writeSafetensors(_ tensors: [(String, [Int], [Float])], metadata: [String: String] = [:], name: String = "lora.safetensors",
                      dtype: String = "F32") -> String {
    var header = "{"
    var data: [UInt8] = []
    var parts: [String] = []
    if !metadata.isEmpty {
        parts.append("\"__metadata__\":{" + metadata.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",") + "}")
    }
    for (key, shape, values) in tensors {
        let start = data.count
        for v in values {
            let b = v.bitPattern.littleEndian
            data += [UInt8(b & 0xFF), UInt8((b >> 8) & 0xFF), UInt8((b >> 16) & 0xFF), UInt8(b >> 24)]
        }
        parts.append("\"\(key)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(start),\(data.count)]}")
    }
    header += parts.joined(separator: ",") + "}"
    var h = Array(header.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    var out: [UInt8] = []
    var n = UInt64(h.count).littleEndian
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    let path = temporaryFolder() + "/" + name
    FileManager.default.createFile(atPath: path, contents: Data(out + h + data))
    return path
}

/// Deterministic small values.
func ramp(_ n: Int, _ seed: Float = 1) -> [Float] { (0..<n).map { Float(($0 * 7 + 3) % 11) * 0.05 * seed - 0.2 } }
