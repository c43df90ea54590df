import Foundation
import HTTPWire
@testable import NodeServer
import OrderedJSON

/// A fresh base directory per test, removed by the caller's `defer`.
func makeTemporaryDirectory() -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("nodeserver-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func writeFile(_ path: String, _ bytes: [UInt8] = Array("x".utf8)) {
    try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

/// Builds a request the way the socket layer would: segments split on `/` then percent-decoded.
func request(_ method: String, _ target: String, body: [UInt8] = [], headers: HTTPHeaders = HTTPHeaders()) -> HTTPRequest {
    let pathPart = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? target
    let queryPart = target.contains("?") ? String(target[target.index(after: target.firstIndex(of: "?")!)...]) : ""
    let segments = pathPart.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
        String($0).removingPercentEncoding ?? String($0)
    }
    let query: [(name: String, value: String)] = queryPart.isEmpty ? [] : queryPart.split(separator: "&").map { pair in
        let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let decode = { (s: Substring) in s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
        return (name: decode(kv[0]), value: kv.count > 1 ? decode(kv[1]) : "")
    }
    return HTTPRequest(method: method, target: target, rawPath: pathPart, pathSegments: segments, query: query,
                       headers: headers, body: body, remoteAddress: "127.0.0.1")
}

extension HTTPResponse {
    var bodyBytes: [UInt8] {
        switch body {
        case .bytes(let b): return b
        case .file(let path, let offset, let length):
            let data = FileManager.default.contents(atPath: path) ?? Data()
            return Array(data[offset..<(offset + length)])
        }
    }
    var json: JSON? { try? JSON.parse(bodyBytes) }
}

/// A server app over a temporary base directory, without a demo checkpoint.
func makeApp(base: String, checkpoints: [String] = ["a.safetensors"]) throws -> NodeServerApp {
    for name in checkpoints { writeFile((base as NSString).appendingPathComponent("models/checkpoints/\(name)")) }
    var config = NodeServerConfiguration(baseDirectory: base)
    config.workflowsDirectory = nil
    return try NodeServerApp(configuration: config)
}
