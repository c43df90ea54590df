// libFuzzer target: the block grammar (`IN04, M00-OUT02`, `D00-S12`, `J3`). The first byte picks
// the scheme and its block count; the rest is the expression. A resolved set holds only the
// scheme's own labels.
// modules: ModelCatalog
// max_len: 1024
import ModelCatalog

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBlockGrammar(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
    let n = Int(first >> 2) % 40
    let scheme: BlockScheme
    switch first & 3 {
    case 0: scheme = .unet(count: n)
    case 1: scheme = .flux(double: n, single: (n * 2) % 40)
    default: scheme = .mmdit(joint: n)
    }
    _ = BlockGrammar.looksLikeBlocks(text)
    let labels = Set(scheme.labels)
    _ = scheme.summary
    if let selected = try? BlockGrammar.resolve(text, scheme: scheme, modelName: "fuzz") {
        precondition(selected.isSubset(of: labels), "a label outside the scheme")
    }
    let family = ModelFamily.allCases[Int(first) % ModelFamily.allCases.count]
    if let selected = try? BlockGrammar.resolve(text, family: family), let own = family.defaultBlocks {
        precondition(selected.isSubset(of: Set(own.labels)))
    }
    return 0
}
