// swift-tools-version:6.0
// WeightLens: a ComfyUI-compatible node server and CLI for looking inside model checkpoints.
//
// Module graph: each module imports only those to its left on its line (docs/ARCHITECTURE.md).
//   OrderedJSON, TensorCore → Checkpoint → ModelCatalog ─┐
//   CKernels → Kernels (leaf: per-instruction-set kernels, used by Checkpoint, Analysis, Render)
//   TensorCore → Analysis → Render ───────────────────────┴→ LTNodes ─┐
//   Checkpoint, ModelCatalog, Analysis → LoRA ──────────────────→ LTNodes
//   HTTPWire → SocketServer ───────────────────────────────────────────┴→ NodeServer → WeightLensCLI → weightlens
import PackageDescription

let package = Package(
    name: "WeightLens",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "weightlens", targets: ["weightlens"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries, one system-library target each.
        .systemLibrary(name: "CLibPNG", path: "Sources/CLibPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CLibSSL", path: "Sources/CLibSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibZ", path: "Sources/CLibZ", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibEpoll", path: "Sources/CLibEpoll"),
        .systemLibrary(name: "CLibMalloc", path: "Sources/CLibMalloc"),

        // Order-preserving JSON values, parser (depth- and size-bounded) and serializer. No I/O.
        .target(name: "OrderedJSON"),
        // Dense Float32 tensors and the dtype enumeration. No I/O.
        .target(name: "TensorCore"),
        // The hot loops (products, dots, conversions, statistics, heatmap and PNG preparation),
        // compiled once per instruction set (AVX-512, AVX2+FMA, SSE2; NEON on aarch64) and picked
        // at run time (docs/ENGINE.md). Optimised in debug builds too; no contraction of a*b+c
        // into FMA, so only the kernels' explicit fused operations differ between paths.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2", "-ffp-contract=off"])]),
        // Swift face of the kernel dispatch: path names, the WEIGHTLENS_KERNELS override, forcing a path.
        .target(name: "Kernels", dependencies: ["CKernels"]),
        // Checkpoint containers: safetensors, sharded safetensors, torch zip and legacy, restricted unpickler, GGUF.
        .target(name: "Checkpoint", dependencies: ["TensorCore", "OrderedJSON", "CKernels"]),
        // Layers, model families, U-Net block grammar, name suggestions.
        .target(name: "ModelCatalog", dependencies: ["Checkpoint", "TensorCore", "OrderedJSON"], resources: [.copy("Resources")]),
        // LoRA / LyCORIS files: formats, mapping onto a model's layers, the lazy W + strength x dW patch.
        .target(name: "LoRA", dependencies: ["Checkpoint", "ModelCatalog", "TensorCore", "Analysis"]),
        // Numerical engine: matrix products, QR, SVD, NMF, statistics, expanded weights.
        // Optimised even in debug builds: unoptimised kernels run 30-60x slower, which made the
        // accuracy tests (SVD, NMF of real weights) take minutes instead of seconds.
        .target(name: "Analysis", dependencies: ["TensorCore", "CKernels", "Kernels"],
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // Raster canvas, font, colour maps, PNG/SVG encoding and the visualization views.
        .target(name: "Render", dependencies: ["TensorCore", "Analysis", "OrderedJSON", "CLibPNG", "CKernels"]),
        // Pure HTTP/1.1 and WebSocket wire parsing and encoding (bytes in, values out).
        .target(name: "HTTPWire"),
        // POSIX sockets + Dispatch event loops, TLS, WebSocket connections.
        .target(name: "SocketServer", dependencies: ["HTTPWire", "CLibSSL", "CLibZ", "CLibEpoll"]),
        // Node catalogue, graph validation, executor and the node implementations.
        .target(name: "LTNodes", dependencies: ["OrderedJSON", "ModelCatalog", "LoRA", "Checkpoint", "Analysis", "Render", "TensorCore"]),
        // ComfyUI-compatible REST + WebSocket API, folders, queue and history.
        .target(name: "NodeServer", dependencies: ["OrderedJSON", "LTNodes", "Render", "SocketServer", "HTTPWire", "Yams", "Kernels", "CLibMalloc"],
                resources: [.copy("Resources")]),
        // Command-line interface (serve, layers, inspect, render, nmf, expand).
        .target(name: "WeightLensCLI", dependencies: [
            "NodeServer", "LTNodes", "LoRA", "ModelCatalog", "Checkpoint", "Analysis", "Render", "SocketServer", "HTTPWire", "Kernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "weightlens", dependencies: ["WeightLensCLI"]),
        // Engine benchmark (bench/engine/run.sh); depends on Analysis only so it builds on its own.
        .executableTarget(name: "weightlens-bench", dependencies: ["Analysis", "Kernels"], path: "bench/engine/Sources"),
        // Render benchmark (bench/render/run.sh); Checkpoint, Render, and Analysis for the SVD-tolerance table.
        .executableTarget(name: "weightlens-render-bench", dependencies: ["Analysis", "Checkpoint", "Render", "TensorCore", "Kernels"],
                          path: "bench/render/Sources"),

        // GGUF benchmark (bench/gguf/run.sh): dequantization throughput per GGML type.
        .executableTarget(name: "weightlens-gguf-bench", dependencies: ["Checkpoint", "TensorCore"], path: "bench/gguf/Sources"),

        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "ModelCatalog", "TensorCore", "Kernels"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "TensorCore", "Checkpoint", "Kernels"]),
        .testTarget(name: "RenderTests", dependencies: ["Render", "Analysis", "TensorCore", "CLibPNG", "Kernels"]),
        .testTarget(name: "LoRATests", dependencies: ["LoRA", "Checkpoint", "ModelCatalog", "TensorCore", "Analysis"]),
        .testTarget(name: "OrderedJSONTests", dependencies: ["OrderedJSON"]),
        .testTarget(name: "HTTPWireTests", dependencies: ["HTTPWire"]),
        .testTarget(name: "SocketServerTests", dependencies: ["SocketServer", "HTTPWire", "CLibZ"]),
        .testTarget(name: "LTNodesTests", dependencies: ["LTNodes", "OrderedJSON", "ModelCatalog", "Checkpoint", "Render", "Analysis", "TensorCore"]),
        .testTarget(name: "NodeServerTests", dependencies: ["NodeServer", "LTNodes", "SocketServer", "HTTPWire", "CLibMalloc"]),
        .testTarget(name: "CLITests", dependencies: ["WeightLensCLI", "Kernels"]),
    ]
)
